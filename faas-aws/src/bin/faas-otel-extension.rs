//! `faas-otel-extension`: the function's local OTLP collector on Lambda (see
//! `faas-aws/EXTENSION.md`). Deployed as a layer at `/opt/extensions/faas-otel-extension`.

use std::process::ExitCode;

fn main() -> ExitCode {
    // One thread: the extension's work is I/O between invocations; a single-threaded runtime
    // starts faster and keeps the resident memory small.
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
    match runtime.block_on(faas_aws::extension::collector::run(
        faas_core::env::Env::process(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("faas-otel-extension: {error}");
            ExitCode::FAILURE
        }
    }
}
