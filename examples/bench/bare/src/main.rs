//! Benchmark baseline (`cargo xtask bench`): a bare `lambda_runtime` function without any
//! telemetry. It answers every event with `{"ok":true}`, like `bench-faas` and `bench-upstream`,
//! so that the three differ only in their tracing.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(serde_json::json!({ "ok": true }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // `FAAS_OTEL_BENCH_LOOP=worker`: the loop as a task on a worker thread, where
    // `faas_aws::run` puts it, so the bench can tell that placement from the tracing.
    if std::env::var("FAAS_OTEL_BENCH_LOOP").as_deref() == Ok("worker") {
        return tokio::spawn(lambda_runtime::run(service_fn(handler))).await?;
    }
    lambda_runtime::run(service_fn(handler)).await
}
