//! `gcp-http`: a Cloud Run function traced with faas-gcp.
//!
//! * `GET /hello` answers `hello` (200);
//! * `GET /fail` answers 500 (the invocation span is an error);
//! * `POST /` takes a CloudEvent (Pub/Sub `messagePublished`, Cloud Storage object events or any
//!   other) in binary or structured mode and answers 204; a request that is not a CloudEvent
//!   gets 400.
//!
//! Configured only by the platform (`PORT`, `K_SERVICE`, `K_REVISION`, …) and the `OTEL_*` /
//! `FAAS_OTEL_*` variables.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use faas_gcp::CloudEvent;

async fn hello() -> &'static str {
    tracing::info!("said hello");
    "hello"
}

async fn fail() -> (StatusCode, &'static str) {
    tracing::error!(
        cause = "the order service is unavailable",
        "order lookup failed"
    );
    (StatusCode::INTERNAL_SERVER_ERROR, "failed")
}

async fn on_event(event: CloudEvent) -> StatusCode {
    tracing::info!(
        event_id = event.id.as_str(),
        event_type = event.ty.as_str(),
        "event received"
    );
    if let Some(message) = event.pubsub_message() {
        // The message is processed here; its payload is base64 in the push format.
        let _payload = message.decoded_data().unwrap_or_default();
    }
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() -> Result<(), faas_gcp::Error> {
    let router = Router::new()
        .route("/hello", get(hello))
        .route("/fail", get(fail))
        .route("/", post(on_event));
    faas_gcp::serve(router).await
}
