//! A link in a chain of functions, traced by faas-aws.
//!
//! With `TARGET_FUNCTION` set, it invokes that function by name with the Lambda SDK: the call
//! is a CLIENT span `<target> invoke` under this invocation, and the trace context travels in
//! the client context's `custom` map, where faas-aws in the target function picks it up as the
//! parent; it answers with the target's response payload.
//!
//! Without `TARGET_FUNCTION` it is the last link: it answers `{"ok":true}` itself (the demo
//! uses it as the billing function that `aws-http-api` invokes).

use aws_sdk_lambda::primitives::Blob;
use faas_messaging::TracingInterceptor;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn handle(
    lambda: aws_sdk_lambda::Client,
    target: Option<String>,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let Some(target) = target else {
        tracing::info!(
            request_id = event.context.request_id.as_str(),
            "order billed"
        );
        return Ok(serde_json::json!({ "ok": true }));
    };
    let output = lambda
        .invoke()
        .function_name(target.as_str())
        .payload(Blob::new(serde_json::to_vec(&event.payload)?))
        .send()
        .await?;
    if let Some(error) = output.function_error() {
        tracing::error!(
            target_function = target.as_str(),
            cause = error,
            "the next link failed"
        );
        return Err(format!("the target function failed: {error}").into());
    }
    let payload = output.payload().map(Blob::as_ref).unwrap_or(b"null");
    Ok(serde_json::from_slice(payload).unwrap_or(Value::Null))
}

#[tokio::main]
async fn main() -> Result<(), faas_aws::Error> {
    let target = std::env::var("TARGET_FUNCTION")
        .ok()
        .filter(|name| !name.trim().is_empty());
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
