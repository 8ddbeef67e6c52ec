//! An axum `Router` answering `lambda_http` requests, for [`crate::serve`].

use axum::Router;
use tower::ServiceExt as _;

/// One request through the router: the body adapted to axum's
/// [`Body`](axum::body::Body), the router's response converted back by `lambda_http` (text
/// for textual content types, base64 otherwise).
pub(crate) async fn call(
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
