//! [`Rejection`]: a request the OTLP/HTTP receiver refuses, with its status and reason.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A rejected request: its status and a short reason (sent as the body).
#[derive(Debug)]
pub(crate) struct Rejection(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            let wait = super::in_flight::RETRY_AFTER_SECONDS.to_string();
            return (self.0, [(axum::http::header::RETRY_AFTER, wait)], self.1).into_response();
        }
        (self.0, self.1).into_response()
    }
}
