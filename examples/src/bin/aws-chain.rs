//! A function that invokes another function by name (`TARGET_FUNCTION`) with the Lambda SDK,
//! traced by faas-aws: the call is a CLIENT span `<target> invoke` under this invocation, and
//! the trace context travels in the client context's `custom` map, where faas-aws in the
//! target function picks it up as the parent.
//!
//! Answers with the target's response payload.

use aws_sdk_lambda::primitives::Blob;
use faas_messaging::TracingInterceptor;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn handle(
    lambda: aws_sdk_lambda::Client,
    target: String,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let output = lambda
        .invoke()
        .function_name(target)
        .payload(Blob::new(serde_json::to_vec(&event.payload)?))
        .send()
        .await?;
    if let Some(error) = output.function_error() {
        return Err(format!("the target function failed: {error}").into());
    }
    let payload = output.payload().map(Blob::as_ref).unwrap_or(b"null");
    Ok(serde_json::from_slice(payload).unwrap_or(Value::Null))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let target = std::env::var("TARGET_FUNCTION")
        .map_err(|_| "TARGET_FUNCTION is not set: name the function to invoke")?;
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&shared)
            .interceptor(TracingInterceptor::new())
            .build(),
    );
    faas_aws::run(service_fn(move |event| {
        handle(lambda.clone(), target.clone(), event)
    }))
    .await
}
