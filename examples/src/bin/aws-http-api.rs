//! An HTTP API on AWS Lambda (API Gateway, ALB or a function URL), traced by faas-aws.
//!
//! `GET /hello` answers 200; `GET /fail` fails the invocation and `GET /panic` panics (to
//! show how errors and panics are recorded); anything else 404. One span per request, its parent taken from
//! the request's `traceparent` (or the invocation's X-Ray header).

use lambda_http::{Body, Error, Request, Response, service_fn};

async fn handle(request: Request) -> Result<Response<Body>, Error> {
    let response = match (request.method().as_str(), request.uri().path()) {
        ("GET", "/fail") => return Err("the order service is unavailable".into()),
        ("GET", "/panic") => panic!("invariant broken: order without items"),
        ("GET", "/hello") => Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::from("hello")),
        _ => Response::builder()
            .status(404)
            .body(Body::from("not found")),
    };
    Ok(response?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    faas_aws::run_http(service_fn(handle)).await
}
