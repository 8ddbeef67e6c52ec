//! [`decode`] and [`answer`]: OTLP/HTTP bodies in (protobuf or JSON, plain or gzip) and
//! responses out, in the request's encoding.

use std::io::Read;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::rejection::Rejection;

/// How a request was encoded, and so how it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/x-protobuf` (or `application/protobuf`).
    Protobuf,
    /// `application/json`.
    Json,
}

/// The lower-cased value of `name` without parameters (`; charset=...`).
fn header_value(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Decodes `body` by its `content-type` and `content-encoding`. `415` for another type or
/// encoding, `400` for a body that does not decode, `413` for a gzip body over `max_body` once
/// inflated (read with a bounded decoder, so a gzip bomb costs at most `max_body`).
pub(crate) fn decode<T: Message + Default + DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    max_body: usize,
) -> Result<(T, Encoding), Rejection> {
    let content_type = header_value(headers, header::CONTENT_TYPE).unwrap_or_default();
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
    let body = match header_value(headers, header::CONTENT_ENCODING).as_deref() {
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

/// `response` in `encoding`, with its content type.
pub(crate) fn answer<T: Message + Serialize>(response: &T, encoding: Encoding) -> Response {
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
