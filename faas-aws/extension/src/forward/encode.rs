//! [`encode`]: one upstream request's body, as the configured protocol and compression.

use std::io::Write;

use prost::Message;
use serde::Serialize;

use crate::config::{ExtensionConfig, Protocol};

/// An encoded request body with its headers' values.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    /// `content-type`.
    pub(crate) content_type: &'static str,
    /// `content-encoding: gzip` when set.
    pub(crate) gzip: bool,
    /// The bytes.
    pub(crate) body: Vec<u8>,
}

/// `request` as protobuf or OTLP/JSON, gzipped when configured (and left plain when gzip fails,
/// which an in-memory writer does not).
pub(crate) fn encode<T: Message + Serialize>(config: &ExtensionConfig, request: &T) -> Encoded {
    let (content_type, body) = match config.protocol {
        Protocol::Protobuf => ("application/x-protobuf", request.encode_to_vec()),
        Protocol::Json => (
            "application/json",
            serde_json::to_vec(request).unwrap_or_default(),
        ),
    };
    if config.gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if encoder.write_all(&body).is_ok()
            && let Ok(compressed) = encoder.finish()
        {
            return Encoded {
                content_type,
                gzip: true,
                body: compressed,
            };
        }
    }
    Encoded {
        content_type,
        gzip: false,
        body,
    }
}
