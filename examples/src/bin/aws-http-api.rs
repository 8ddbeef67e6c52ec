//! An HTTP API on AWS Lambda (API Gateway, ALB or a function URL), traced by faas-aws.
//!
//! - `GET /hello` answers 200;
//! - `POST /orders` sends the request body to the SQS queue at `ORDERS_QUEUE_URL` (endpoint from
//!   the SDK's standard `AWS_ENDPOINT_URL`), so one trace spans the HTTP call, the send and, in
//!   `aws-sqs-consumer`, the processing; when `BILLING_FUNCTION` names a function, the order
//!   is also sent to it with a Lambda -> Lambda invoke (its answer is awaited, so the trace
//!   shows the second function inside this request);
//! - `GET /fail` fails the invocation and `GET /panic` panics (to show how errors and panics
//!   are recorded); anything else 404.
//!
//! One span per request, its parent taken from the request's `traceparent` (or the
//! invocation's X-Ray header). Its `tracing` lines (an order accepted, a failure with its
//! cause) carry the request id, trace id and span id (`AWS_LAMBDA_LOG_FORMAT=JSON` for JSON).

use aws_sdk_lambda::primitives::Blob;
use faas_messaging::TracingInterceptor;
use lambda_http::{Body, Error, Request, Response, service_fn};

/// What a request needs: the SQS client and the queue, and the billing function, when configured.
#[derive(Clone)]
struct Orders {
    sqs: aws_sdk_sqs::Client,
    queue_url: Option<String>,
    lambda: aws_sdk_lambda::Client,
    billing_function: Option<String>,
}

/// Invokes the billing function with the order and fails when it failed.
async fn bill(orders: &Orders, function: &str, body: &str) -> Result<(), Error> {
    let output = orders
        .lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(body.as_bytes()))
        .send()
        .await?;
    match output.function_error() {
        Some(error) => {
            tracing::error!(function, cause = error, "billing failed");
            Err(format!("the billing function failed: {error}").into())
        }
        None => {
            tracing::info!(function, "order billed");
            Ok(())
        }
    }
}

async fn handle(orders: Orders, request: Request) -> Result<Response<Body>, Error> {
    let response = match (request.method().as_str(), request.uri().path()) {
        ("GET", "/hello") => Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::from("hello")),
        ("POST", "/orders") => {
            let Some(queue_url) = orders.queue_url.clone() else {
                return Ok(Response::builder()
                    .status(503)
                    .body(Body::from("ORDERS_QUEUE_URL is not set"))?);
            };
            let body = String::from_utf8_lossy(request.body().as_ref()).into_owned();
            let sent = match orders
                .sqs
                .send_message()
                .queue_url(queue_url)
                .message_body(body.as_str())
                .send()
                .await
            {
                Ok(sent) => sent,
                Err(error) => {
                    let cause = aws_sdk_sqs::error::DisplayErrorContext(&error).to_string();
                    tracing::error!(cause, "order not queued");
                    return Err(error.into());
                }
            };
            tracing::info!(
                message_id = sent.message_id().unwrap_or_default(),
                bytes = body.len(),
                "order accepted"
            );
            if let Some(function) = &orders.billing_function {
                bill(&orders, function, &body).await?;
            }
            Response::builder()
                .status(202)
                .header("content-type", "application/json")
                .body(Body::from(format!(
                    r#"{{"messageId":"{}"}}"#,
                    sent.message_id().unwrap_or_default()
                )))
        }
        ("GET", "/fail") => {
            let cause = "the order service is unavailable";
            tracing::error!(cause, "order lookup failed");
            return Err(cause.into());
        }
        ("GET", "/panic") => panic!("invariant broken: order without items"),
        _ => Response::builder()
            .status(404)
            .body(Body::from("not found")),
    };
    Ok(response?)
}

#[tokio::main]
async fn main() -> Result<(), faas_aws::Error> {
    // No network I/O here: credentials and endpoints resolve on the first call.
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let orders = Orders {
        sqs: aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&shared)
                .interceptor(TracingInterceptor::new())
                .build(),
        ),
        queue_url: std::env::var("ORDERS_QUEUE_URL").ok(),
        lambda: aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&shared)
                .interceptor(TracingInterceptor::new())
                .build(),
        ),
        billing_function: std::env::var("BILLING_FUNCTION")
            .ok()
            .filter(|name| !name.trim().is_empty()),
    };
    faas_aws::run_http(service_fn(move |request| handle(orders.clone(), request))).await
}
