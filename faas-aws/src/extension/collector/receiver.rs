//! The OTLP/HTTP receiver on loopback: `/v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf or
//! JSON, plain or gzip.
//!
//! It only decodes and enqueues, so the function's flush returns as soon as its data is on
//! this side of loopback. Bad input gets a 4xx and nothing else: 400 for a body that does not
//! decode, 413 for a body over `FAAS_OTEL_EXTENSION_MAX_BODY_BYTES` (checked after gzip with a
//! bounded decoder, so a gzip bomb costs at most that much memory), 415 for another content
//! type or encoding. Data over the memory cap is answered `200` with OTLP `partial_success`
//! (`rejected_spans` and a message) and counted.

use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::state::{Shared, invocation_ids, lock};

/// The receiver's routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        // The bodies are read by `read_body` with `max_body`; gzip bodies are bounded again
        // after decompression.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

/// The most bytes of an oversized body read (and discarded) before answering `413`: a client
/// still writing its body would otherwise see its connection reset instead of the answer.
const DRAIN_LIMIT: usize = 64 << 20;

/// Reads the raw body, at most `max_body` bytes kept; a longer body is read on and discarded
/// (up to [`DRAIN_LIMIT`]) and answered `413`.
async fn read_body(body: Body, max_body: usize) -> Result<Vec<u8>, Rejection> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Rejection(StatusCode::BAD_REQUEST, format!("reading body: {e}")))?;
        total = total.saturating_add(chunk.len());
        if total <= max_body {
            out.extend_from_slice(&chunk);
        } else {
            out = Vec::new();
            if total > DRAIN_LIMIT {
                break;
            }
        }
    }
    if total > max_body {
        return Err(Rejection(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over {max_body} bytes (FAAS_OTEL_EXTENSION_MAX_BODY_BYTES)"),
        ));
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

/// A rejected request: its status and a short reason.
struct Rejection(StatusCode, String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

fn decode<T: Message + Default + DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    max_body: usize,
) -> Result<(T, Encoding), Rejection> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let encoding = match content_type.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        other => {
            return Err(Rejection(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "content type {other:?}: expected application/x-protobuf or application/json"
                ),
            ));
        }
    };
    let inflated;
    let body = match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("identity") | Some("") => body,
        Some("gzip") => {
            let mut out = Vec::new();
            let limit = max_body as u64 + 1;
            flate2::read::GzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| Rejection(StatusCode::BAD_REQUEST, format!("gzip: {e}")))?;
            if out.len() > max_body {
                return Err(Rejection(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("decompressed body over {max_body} bytes"),
                ));
            }
            inflated = out;
            &inflated
        }
        Some(other) => {
            return Err(Rejection(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content encoding {other:?}: expected gzip or none"),
            ));
        }
    };
    let message = match encoding {
        Encoding::Protobuf => T::decode(body)
            .map_err(|e| Rejection(StatusCode::BAD_REQUEST, format!("protobuf: {e}")))?,
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| Rejection(StatusCode::BAD_REQUEST, format!("json: {e}")))?,
    };
    Ok((message, encoding))
}

fn answer<T: Message + Serialize>(response: &T, encoding: Encoding) -> Response {
    match encoding {
        Encoding::Protobuf => (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(response).unwrap_or_else(|_| b"{}".to_vec()),
        )
            .into_response(),
    }
}

fn over_cap(what: &str, n: u64) -> String {
    eprintln!(
        "faas-otel-extension: memory cap reached, {n} {what} dropped (FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES)"
    );
    format!("faas-otel-extension memory cap reached: {n} {what} dropped")
}

async fn traces(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let max_body = shared.config.max_body;
    let (request, encoding) = match read_body(body, max_body)
        .await
        .and_then(|body| decode::<ExportTraceServiceRequest>(&headers, &body, max_body))
    {
        Ok(decoded) => decoded,
        Err(rejection) => return rejection.into_response(),
    };
    answer(&accept_traces(&shared, request), encoding)
}

/// Takes a decoded trace request (from OTLP/HTTP or OTLP/gRPC): learns its invocation ids,
/// buffers it within the cap, wakes the lifecycle, and returns the answer.
pub fn accept_traces(
    shared: &Shared,
    request: ExportTraceServiceRequest,
) -> ExportTraceServiceResponse {
    lock(&shared.platform).observe_traces(&request);
    let ids = invocation_ids(&request);
    let dropped = lock(&shared.buffer).push_traces(request);
    {
        let mut seen = lock(&shared.seen);
        for id in ids {
            seen.insert(id);
        }
    }
    shared.arrived.notify_waiters();
    let partial_success = (dropped > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: dropped as i64,
        error_message: over_cap("spans", dropped),
    });
    ExportTraceServiceResponse { partial_success }
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let max_body = shared.config.max_body;
    let (request, encoding) = match read_body(body, max_body)
        .await
        .and_then(|body| decode::<ExportMetricsServiceRequest>(&headers, &body, max_body))
    {
        Ok(decoded) => decoded,
        Err(rejection) => return rejection.into_response(),
    };
    answer(&accept_metrics(&shared, request), encoding)
}

/// As [`accept_traces`], for metrics.
pub fn accept_metrics(
    shared: &Shared,
    request: ExportMetricsServiceRequest,
) -> ExportMetricsServiceResponse {
    let dropped = lock(&shared.buffer).push_metrics(request);
    let partial_success = (dropped > 0).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: dropped as i64,
        error_message: over_cap("metric data points", dropped),
    });
    ExportMetricsServiceResponse { partial_success }
}

async fn logs(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let max_body = shared.config.max_body;
    let (request, encoding) = match read_body(body, max_body)
        .await
        .and_then(|body| decode::<ExportLogsServiceRequest>(&headers, &body, max_body))
    {
        Ok(decoded) => decoded,
        Err(rejection) => return rejection.into_response(),
    };
    answer(&accept_logs(&shared, request), encoding)
}

/// As [`accept_traces`], for logs.
pub fn accept_logs(
    shared: &Shared,
    request: ExportLogsServiceRequest,
) -> ExportLogsServiceResponse {
    let dropped = lock(&shared.buffer).push_logs(request);
    let partial_success = (dropped > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: dropped as i64,
        error_message: over_cap("log records", dropped),
    });
    ExportLogsServiceResponse { partial_success }
}
