//! [`encode`]: one upstream request's body, as the configured protocol and compression.

use std::io::Write;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde::Serialize;

use crate::buffer::Signal;
use crate::config::{ExtensionConfig, Protocol};

use super::batches::HeldBatch;

/// An encoded request body with its headers' values.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    /// `content-type`.
    pub(crate) content_type: &'static str,
    /// `content-encoding: gzip` when set.
    pub(crate) gzip: bool,
    /// The bytes (cheap to clone for a retry).
    pub(crate) body: Bytes,
}

/// Protobuf `body` of a `T` as OTLP/JSON (empty when it does not decode, which held bytes,
/// checked on receipt, do).
fn json_of<T: Message + Default + Serialize>(body: &[u8]) -> Vec<u8> {
    T::decode(body)
        .ok()
        .and_then(|request| serde_json::to_vec(&request).ok())
        .unwrap_or_default()
}

/// `batch` as protobuf (its held bytes concatenated, not re-encoded) or as OTLP/JSON (decoded
/// here, the only place the extension decodes what it forwards), gzipped when configured (and
/// left plain when gzip fails, which an in-memory writer does not).
pub(crate) fn encode(config: &ExtensionConfig, batch: &HeldBatch) -> Encoded {
    let (content_type, body) = match config.protocol {
        Protocol::Protobuf => ("application/x-protobuf", batch.body()),
        Protocol::Json => {
            let protobuf = batch.body();
            let json = match batch.signal() {
                Signal::Traces => json_of::<ExportTraceServiceRequest>(&protobuf),
                Signal::Metrics => json_of::<ExportMetricsServiceRequest>(&protobuf),
                Signal::Logs => json_of::<ExportLogsServiceRequest>(&protobuf),
            };
            ("application/json", Bytes::from(json))
        }
    };
    if config.gzip {
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 4),
            flate2::Compression::fast(),
        );
        if encoder.write_all(&body).is_ok()
            && let Ok(compressed) = encoder.finish()
        {
            return Encoded {
                content_type,
                gzip: true,
                body: Bytes::from(compressed),
            };
        }
    }
    Encoded {
        content_type,
        gzip: false,
        body,
    }
}
