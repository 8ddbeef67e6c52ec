//! A long-running function process (a Cloud Run or Azure custom-handler server, say) that
//! drains its telemetry when the platform sends SIGTERM.
//!
//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run -p faas-core --example drain_on_sigterm`
//! then `kill -TERM <pid>`: every span recorded is exported before the process exits with 0.
#![allow(clippy::print_stdout)]

use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), faas_core::Error> {
    let telemetry = Telemetry::builder(LocalEnvironment::named("drain-on-sigterm")).build()?;
    telemetry.spawn_drain_on_termination();
    for i in 0..3 {
        let span = telemetry.start_invocation(
            Invocation::new("work", Trigger::Other).with_invocation_id(i.to_string()),
        );
        span.end(Outcome::Ok);
    }
    // Nothing flushed yet: the spans wait in the queue until SIGTERM drains them.
    println!("ready {}", telemetry.queued_spans());
    std::future::pending::<()>().await;
    Ok(())
}
