//! One-call entry points, each `Server::from_env()` with its defaults (see [`Server`]):
//! [`run`] for `lambda_runtime` handlers, [`run_http`] for `lambda_http` services and
//! [`serve`] for an axum `Router`, the entry point every provider crate shares.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::{Debug, Display};
use tower::Service;

use crate::server::{Error, Server};

/// Runs a traced `lambda_runtime` handler (any `Service<LambdaEvent<A>>`, e.g. `service_fn`).
///
/// ```no_run
/// use lambda_runtime::{service_fn, Error, LambdaEvent};
/// use serde_json::{json, Value};
///
/// async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
///     Ok(json!({ "echo": event.payload }))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), faas_aws::Error> {
///     faas_aws::run(service_fn(handler)).await
/// }
/// ```
pub async fn run<F, A, R>(handler: F) -> Result<(), Error>
where
    F: Service<LambdaEvent<A>, Response = R> + Clone + Send + 'static,
    F::Future: Send + 'static,
    F::Error: Display + Debug + Into<Diagnostic> + Send + 'static,
    A: DeserializeOwned + Send + 'static,
    R: Serialize + Send + Sync + 'static,
{
    Server::from_env().run(handler).await
}

/// Runs a traced `lambda_http` service (API Gateway REST and HTTP APIs, ALB, function URLs).
///
/// ```no_run
/// use lambda_http::{service_fn, Body, Error, Request, Response};
///
/// async fn hello(_request: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("hello")))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), faas_aws::Error> {
///     faas_aws::run_http(service_fn(hello)).await
/// }
/// ```
#[cfg(feature = "http")]
pub async fn run_http<S, R>(service: S) -> Result<(), Error>
where
    S: Service<lambda_http::Request, Response = R> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Display + Debug + Into<Diagnostic> + Send + 'static,
    R: lambda_http::IntoResponse + Send + Sync + 'static,
{
    Server::from_env().run_http(service).await
}

/// Serves `router` as a Lambda HTTP function (API Gateway REST and HTTP APIs, ALB, function
/// URLs) through [`run_http`]: the same [`FaasLayer`](crate::FaasLayer) and
/// [`HttpOutcomeLayer`](crate::HttpOutcomeLayer) as any `lambda_http` service (trigger and
/// span from the event, `http.response.status_code`, 5xx as an error, flush after every
/// invocation, drain on SIGTERM).
///
/// Each `lambda_http::Request` reaches the router with its body as an axum
/// [`Body`](axum::body::Body); the router's response is converted back by `lambda_http`
/// (text for textual content types, base64 otherwise).
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// #[tokio::main]
/// async fn main() -> Result<(), faas_aws::Error> {
///     faas_aws::serve(Router::new().route("/hello", get(|| async { "hello" }))).await
/// }
/// ```
#[cfg(feature = "http")]
pub async fn serve(router: axum::Router) -> Result<(), Error> {
    Server::from_env().serve(router).await
}
