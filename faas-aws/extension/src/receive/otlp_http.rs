//! The OTLP/HTTP receiver on loopback: `/v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf or
//! JSON, plain or gzip.
//!
//! It only checks and enqueues the bytes (protobuf is kept as received, OTLP/JSON is encoded
//! once as protobuf), so the function's flush returns as soon as its data is on this side of
//! loopback. Request bodies being read at the same time are bounded by an in-flight budget
//! (a quarter of the memory cap, at least one largest body): beyond it, `503` with
//! `Retry-After`, counted. Bad input gets a 4xx and nothing else: 400 for a body that does not
//! decode, 413 for a body over `FAAS_OTEL_EXTENSION_MAX_BODY_BYTES` (checked after gzip with a
//! bounded decoder, so a gzip bomb costs at most that much memory), 415 for another content
//! type or encoding. Data over the memory cap is answered `200` with OTLP `partial_success`
//! (`rejected_spans` and a message) and counted.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::buffer::{Held, Signal};
use crate::state::Shared;

use super::accept::{accept_logs, accept_metrics, accept_traces};
use super::body::read_body;
use super::decode::{answer, decode};
use super::in_flight::InFlightBytes;

/// What the receiver's handlers share: the extension's state and the in-flight budget.
#[derive(Debug, Clone)]
struct Receiver {
    shared: Arc<Shared>,
    in_flight: Arc<InFlightBytes>,
}

/// The receiver's routes, with an in-flight budget of
/// [`InFlightBytes::budget_for`] the configured limits.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let budget = InFlightBytes::budget_for(shared.config.memory_limit, shared.config.max_body);
    router_with(shared, InFlightBytes::new(budget))
}

/// The receiver's routes over `in_flight`.
pub(crate) fn router_with(shared: Arc<Shared>, in_flight: Arc<InFlightBytes>) -> Router {
    Router::new()
        .route(
            "/v1/traces",
            post(
                |State(r): State<Receiver>, headers: HeaderMap, body: Body| {
                    receive::<ExportTraceServiceRequest, _>(
                        r,
                        Signal::Traces,
                        headers,
                        body,
                        accept_traces,
                    )
                },
            ),
        )
        .route(
            "/v1/metrics",
            post(
                |State(r): State<Receiver>, headers: HeaderMap, body: Body| {
                    receive::<ExportMetricsServiceRequest, _>(
                        r,
                        Signal::Metrics,
                        headers,
                        body,
                        accept_metrics,
                    )
                },
            ),
        )
        .route(
            "/v1/logs",
            post(
                |State(r): State<Receiver>, headers: HeaderMap, body: Body| {
                    receive::<ExportLogsServiceRequest, _>(
                        r,
                        Signal::Logs,
                        headers,
                        body,
                        accept_logs,
                    )
                },
            ),
        )
        // The bodies are read by `read_body` with `max_body`; gzip bodies are bounded again
        // after decompression.
        .layer(DefaultBodyLimit::disable())
        .with_state(Receiver { shared, in_flight })
}

/// The `content-length`, when given.
fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads, checks and accepts one request of any signal (`Req` is the request type OTLP/JSON
/// is read as), its body reserved in the in-flight budget until it is in the buffer.
async fn receive<Req, Resp>(
    receiver: Receiver,
    signal: Signal,
    headers: HeaderMap,
    body: Body,
    accept: fn(&Shared, Held) -> Resp,
) -> Response
where
    Req: Message + Default + DeserializeOwned,
    Resp: Message + Serialize,
{
    let shared = &receiver.shared;
    let max_body = shared.config.max_body;
    let mut reserved = receiver.in_flight.reservation();
    let held = match read_body(body, max_body, content_length(&headers), &mut reserved).await {
        Ok(raw) => decode::<Req>(signal, &headers, raw, max_body, &mut reserved),
        Err(rejection) => Err(rejection),
    };
    let response = match held {
        Ok((held, encoding)) => answer(&accept(shared, held), encoding),
        Err(rejection) => rejection.into_response(),
    };
    drop(reserved);
    response
}
