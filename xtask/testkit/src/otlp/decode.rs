//! Decoding an OTLP/HTTP body (gzip aware, protobuf or OTLP/JSON) and encoding the answer.

use std::io::Read;

use http::HeaderMap;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Format, Payload};

/// The `Content-Type` of `headers` as a [`Format`].
pub(crate) fn format(headers: &HeaderMap) -> Format {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    match essence {
        "application/x-protobuf" => Format::Protobuf,
        "application/json" => Format::Json,
        _ => Format::Other,
    }
}

/// The `Content-Encoding` of `headers`.
pub(crate) fn encoding(headers: &HeaderMap) -> Option<String> {
    headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn inflate(encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>, String> {
    match encoding {
        None | Some("identity") => Ok(body.to_vec()),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|e| format!("gzip: {e}"))?;
            Ok(out)
        }
        Some(other) => Err(format!("content encoding {other:?}")),
    }
}

fn parse<T: Message + Default + DeserializeOwned>(
    format: Format,
    body: &[u8],
) -> Result<T, String> {
    match format {
        Format::Protobuf => T::decode(body).map_err(|e| format!("protobuf: {e}")),
        Format::Json => serde_json::from_slice(body).map_err(|e| format!("OTLP/JSON: {e}")),
        Format::Other => {
            Err("content type is neither application/x-protobuf nor application/json".into())
        }
    }
}

/// Decodes the body of a request to `path`.
pub(crate) fn payload(path: &str, format: Format, encoding: Option<&str>, body: &[u8]) -> Payload {
    let signal = path.split('?').next().unwrap_or_default();
    if !matches!(signal, "/v1/traces" | "/v1/metrics" | "/v1/logs") {
        return Payload::NotOtlp;
    }
    let body = match inflate(encoding, body) {
        Ok(body) => body,
        Err(error) => return Payload::Invalid(error),
    };
    let decoded = match signal {
        "/v1/traces" => parse(format, &body).map(Payload::Traces),
        "/v1/metrics" => parse(format, &body).map(Payload::Metrics),
        _ => parse(format, &body).map(Payload::Logs),
    };
    decoded.unwrap_or_else(Payload::Invalid)
}

fn encode<T: Message + Serialize>(format: Format, response: &T) -> (&'static str, Vec<u8>) {
    match format {
        Format::Json => (
            "application/json",
            serde_json::to_vec(response).unwrap_or_else(|_| b"{}".to_vec()),
        ),
        _ => ("application/x-protobuf", response.encode_to_vec()),
    }
}

/// The success answer to `payload` in `format`, with `partial` (rejected count, message) set
/// when given. Content type and body.
pub(crate) fn success(
    payload: &Payload,
    format: Format,
    partial: Option<(i64, String)>,
) -> (&'static str, Vec<u8>) {
    match payload {
        Payload::Metrics(_) => encode(
            format,
            &ExportMetricsServiceResponse {
                partial_success: partial.map(|(rejected, error_message)| {
                    ExportMetricsPartialSuccess {
                        rejected_data_points: rejected,
                        error_message,
                    }
                }),
            },
        ),
        Payload::Logs(_) => encode(
            format,
            &ExportLogsServiceResponse {
                partial_success: partial.map(|(rejected, error_message)| {
                    ExportLogsPartialSuccess {
                        rejected_log_records: rejected,
                        error_message,
                    }
                }),
            },
        ),
        _ => encode(
            format,
            &ExportTraceServiceResponse {
                partial_success: partial.map(|(rejected, error_message)| {
                    ExportTracePartialSuccess {
                        rejected_spans: rejected,
                        error_message,
                    }
                }),
            },
        ),
    }
}

/// Spans in a trace request (for counting without keeping).
pub(crate) fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}
