//! [`serve`]: run an axum [`Router`] as a traced Lambda HTTP function (API Gateway REST and
//! HTTP APIs, ALB, function URLs), the entry point every provider crate shares.

use std::convert::Infallible;

use axum::Router;
use tower::ServiceExt as _;

use crate::run::Error;

/// Serves `router` as a Lambda HTTP function through [`crate::run_http`]: the same
/// [`FaasLayer`](crate::FaasLayer) and [`HttpOutcomeLayer`](crate::HttpOutcomeLayer) as any
/// `lambda_http` service (trigger and span from the API Gateway / ALB / function URL event,
/// `http.response.status_code`, 5xx as an error, flush after every invocation, drain on
/// SIGTERM, concurrent invocations when `AWS_LAMBDA_MAX_CONCURRENCY` is above 1).
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
pub async fn serve(router: Router) -> Result<(), Error> {
    let service = tower::service_fn(move |request: lambda_http::Request| {
        let router = router.clone();
        async move { Ok::<_, Infallible>(call(router, request).await) }
    });
    crate::run::run_http(service).await
}

/// One request through the router: the body adapted to axum's, the response to
/// `lambda_http`'s.
async fn call(
    router: Router,
    request: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    let response = match router.oneshot(request.map(axum::body::Body::new)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    lambda_http::IntoResponse::into_response(response).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_router_answers_lambda_http_requests() {
        use axum::routing::post;
        let router = Router::new().route(
            "/echo/{name}",
            post(|body: String| async move { format!("got {body}") }),
        );
        let mut request = lambda_http::Request::new(lambda_http::Body::Text("order".into()));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = "/echo/ann".parse().unwrap();
        let response = call(router.clone(), request).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.body(),
            &lambda_http::Body::Text("got order".into())
        );
        let missing = call(router, lambda_http::Request::default()).await;
        assert_eq!(missing.status(), 404);
    }
}
