//! One request the OTLP receiver got, decoded.

use std::ops::Deref;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::Recorded;

/// The body's encoding, from `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
    /// Anything else.
    Other,
}

/// What the body decoded to.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `/v1/traces`.
    Traces(ExportTraceServiceRequest),
    /// `/v1/metrics`.
    Metrics(ExportMetricsServiceRequest),
    /// `/v1/logs`.
    Logs(ExportLogsServiceRequest),
    /// A path that is not an OTLP signal.
    NotOtlp,
    /// An OTLP path whose body did not decode: why.
    Invalid(String),
}

/// One request, as received and decoded (gzip undone, protobuf or JSON). Dereferences to
/// the raw [`Recorded`] request (sequence number, times, path, headers, status answered).
#[derive(Debug, Clone)]
pub struct OtlpRequest {
    /// The raw request.
    pub http: Recorded,
    /// Its `Content-Encoding` (`None` for none).
    pub encoding: Option<String>,
    /// Its `Content-Type`.
    pub format: Format,
    /// The decoded body.
    pub payload: Payload,
}

impl Deref for OtlpRequest {
    type Target = Recorded;

    fn deref(&self) -> &Recorded {
        &self.http
    }
}

impl OtlpRequest {
    /// Whether it was answered 2xx (accepted, possibly partially).
    pub fn accepted(&self) -> bool {
        self.http.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The trace request, if it is one.
    pub fn traces(&self) -> Option<&ExportTraceServiceRequest> {
        match &self.payload {
            Payload::Traces(r) => Some(r),
            _ => None,
        }
    }
}
