//! The OTLP/HTTP receiver on loopback: `/v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf or
//! JSON, plain or gzip.
//!
//! It only decodes and enqueues, so the function's flush returns as soon as its data is on
//! this side of loopback. Bad input gets a 4xx and nothing else: 400 for a body that does not
//! decode, 413 for a body over `FAAS_OTEL_EXTENSION_MAX_BODY_BYTES` (checked after gzip with a
//! bounded decoder, so a gzip bomb costs at most that much memory), 415 for another content
//! type or encoding. Data over the memory cap is answered `200` with OTLP `partial_success`
//! (`rejected_spans` and a message) and counted.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::state::Shared;

use super::accept::{accept_logs, accept_metrics, accept_traces};
use super::body::read_body;
use super::decode::{answer, decode};

/// The receiver's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/v1/traces",
            post(
                |State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body| {
                    receive(s, headers, body, accept_traces)
                },
            ),
        )
        .route(
            "/v1/metrics",
            post(
                |State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body| {
                    receive(s, headers, body, accept_metrics)
                },
            ),
        )
        .route(
            "/v1/logs",
            post(
                |State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body| {
                    receive(s, headers, body, accept_logs)
                },
            ),
        )
        // The bodies are read by `read_body` with `max_body`; gzip bodies are bounded again
        // after decompression.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

/// Reads, decodes and accepts one request of any signal.
async fn receive<Req, Resp>(
    shared: Arc<Shared>,
    headers: HeaderMap,
    body: Body,
    accept: fn(&Shared, Req) -> Resp,
) -> Response
where
    Req: Message + Default + DeserializeOwned,
    Resp: Message + Serialize,
{
    let max_body = shared.config.max_body;
    let decoded = match read_body(body, max_body).await {
        Ok(raw) => decode::<Req>(&headers, &raw, max_body),
        Err(rejection) => Err(rejection),
    };
    match decoded {
        Ok((request, encoding)) => answer(&accept(&shared, request), encoding),
        Err(rejection) => rejection.into_response(),
    }
}
