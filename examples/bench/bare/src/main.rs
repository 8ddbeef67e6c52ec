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
    lambda_runtime::run(service_fn(handler)).await
}
