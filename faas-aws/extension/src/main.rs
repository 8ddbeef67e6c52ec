//! `faas-otel-extension`: the function's local OTLP collector on Lambda (see the crate README).
//! Deployed as a layer at `/opt/extensions/faas-otel-extension`.

use std::process::ExitCode;

fn main() -> ExitCode {
    // One thread: every wait (the upstream, the function's data after INVOKE, the next event)
    // is asynchronous, so the receivers keep answering the function's flush while an export is
    // in progress. Worker threads would hand each request, event and timer from one thread to
    // another: at 10,000 spans/s with invocations in a loop, those wake-ups were a sixth of
    // the extension's CPU (BENCHMARKS.md section 4).
    let runtime = match tokio::runtime::Builder::new_current_thread()
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
