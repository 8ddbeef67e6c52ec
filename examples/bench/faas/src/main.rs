//! Benchmark subject (`cargo xtask bench`): the `bench-bare` handler traced by this project,
//! `faas_aws::run` (invocation span, cold start, cost, bounded flush after every invocation to
//! `OTEL_EXPORTER_OTLP_ENDPOINT`).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(serde_json::json!({ "ok": true }))
}

#[tokio::main]
async fn main() -> Result<(), faas_aws::Error> {
    faas_aws::run(service_fn(handler)).await
}
