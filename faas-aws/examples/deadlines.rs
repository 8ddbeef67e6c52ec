//! A Lambda function for the bad moments, run by `examples/tests/aws_deadlines.rs` (built
//! with the `dev-abort` profile: the release profile's `panic = "abort"` on a dev build):
//!
//! - `{"sleep_ms": N}` sleeps N ms inside a child span `slow call` (an SDK call that hangs,
//!   when N runs past the deadline), then answers `{"slept_ms": N}`;
//! - `{"panic": "message"}` panics with that message inside a child span `charge card`;
//! - anything else is echoed.
//!
//! ```sh
//! cargo build -p faas-aws --example deadlines --profile dev-abort
//! ```

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, global};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    let tracer = global::tracer("deadlines");
    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        let cx = Context::current_with_span(tracer.start("slow call"));
        tokio::time::sleep(Duration::from_millis(ms))
            .with_context(cx.clone())
            .await;
        cx.span().end();
        return Ok(json!({ "slept_ms": ms }));
    }
    if let Some(message) = payload.get("panic").and_then(Value::as_str) {
        let _charge = Context::current_with_span(tracer.start("charge card")).attach();
        panic!("{message}");
    }
    Ok(payload)
}

#[tokio::main]
async fn main() -> Result<(), faas_aws::Error> {
    faas_aws::run(service_fn(handler)).await
}
