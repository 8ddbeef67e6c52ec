//! An HTTP API on AWS Lambda (API Gateway, ALB or a function URL), traced by faas-aws.
//!
//! - `GET /hello` answers 200;
//! - `POST /orders` sends the request body to the SQS queue at `ORDERS_QUEUE_URL` (endpoint from
//!   the SDK's standard `AWS_ENDPOINT_URL`), so one trace spans the HTTP call, the send and, in
//!   `aws-sqs-consumer`, the processing;
//! - `GET /fail` fails the invocation and `GET /panic` panics (to show how errors and panics
//!   are recorded); anything else 404.
//!
//! One span per request, its parent taken from the request's `traceparent` (or the
//! invocation's X-Ray header).

use faas_messaging::TracingInterceptor;
use lambda_http::{Body, Error, Request, Response, service_fn};

/// What a request needs: the SQS client and the queue, when configured.
#[derive(Clone)]
struct Orders {
    sqs: aws_sdk_sqs::Client,
    queue_url: Option<String>,
}

async fn handle(orders: Orders, request: Request) -> Result<Response<Body>, Error> {
    let response = match (request.method().as_str(), request.uri().path()) {
        ("GET", "/hello") => Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::from("hello")),
        ("POST", "/orders") => {
            let Some(queue_url) = orders.queue_url else {
                return Ok(Response::builder()
                    .status(503)
                    .body(Body::from("ORDERS_QUEUE_URL is not set"))?);
            };
            let body = String::from_utf8_lossy(request.body().as_ref()).into_owned();
            let sent = orders
                .sqs
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                .send()
                .await?;
            Response::builder()
                .status(202)
                .header("content-type", "application/json")
                .body(Body::from(format!(
                    r#"{{"messageId":"{}"}}"#,
                    sent.message_id().unwrap_or_default()
                )))
        }
        ("GET", "/fail") => return Err("the order service is unavailable".into()),
        ("GET", "/panic") => panic!("invariant broken: order without items"),
        _ => Response::builder()
            .status(404)
            .body(Body::from("not found")),
    };
    Ok(response?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // No network I/O here: credentials and endpoints resolve on the first call.
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let orders = Orders {
        sqs: aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&shared)
                .interceptor(TracingInterceptor::new())
                .build(),
        ),
        queue_url: std::env::var("ORDERS_QUEUE_URL").ok(),
    };
    faas_aws::run_http(service_fn(move |request| handle(orders.clone(), request))).await
}
