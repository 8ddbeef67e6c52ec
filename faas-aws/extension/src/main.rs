//! `faas-otel-extension`: the function's local OTLP collector on Lambda (see the crate README).
//! Deployed as a layer at `/opt/extensions/faas-otel-extension`.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Two worker threads: the receivers keep answering the function's flush while an export
    // (or the wait after INVOKE) is in progress; more threads would only cost memory.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("faas-otel-extension: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(faas_otel_extension::run(faas_core::env::Env::process())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("faas-otel-extension: {error}");
            ExitCode::FAILURE
        }
    }
}
