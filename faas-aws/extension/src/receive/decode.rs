//! [`decode`] and [`answer`]: OTLP/HTTP bodies in (protobuf or JSON, plain or gzip) as held
//! protobuf bytes, and responses out, in the request's encoding.

use std::io::Read;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::buffer::{Held, Signal, exact};

use super::body::overloaded;
use super::in_flight::Reservation;
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

/// Inflates a gzip `body` with a bounded decoder, each step of the output reserved first.
fn gunzip(body: &[u8], max_body: usize, reserved: &mut Reservation) -> Result<Vec<u8>, Rejection> {
    const STEP: usize = 64 << 10;
    let mut decoder = flate2::read::GzDecoder::new(body);
    let mut out = Vec::new();
    loop {
        let room = (max_body + 1).saturating_sub(out.len()).min(STEP);
        if room == 0 {
            break;
        }
        out.reserve_exact(room);
        if !reserved.grow_to(body.len().saturating_add(out.capacity())) {
            return Err(overloaded());
        }
        let read = (&mut decoder)
            .take(room as u64)
            .read_to_end(&mut out)
            .map_err(|e| Rejection(StatusCode::BAD_REQUEST, format!("gzip: {e}")))?;
        if read == 0 {
            break;
        }
    }
    if out.len() > max_body {
        return Err(Rejection(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("decompressed body over {max_body} bytes"),
        ));
    }
    Ok(out)
}

/// Takes `body` by its `content-type` and `content-encoding` as a held request of `signal`:
/// protobuf is checked and kept as it is (not decoded), OTLP/JSON is decoded as a `T` and
/// encoded once as protobuf. `415` for another type or encoding, `400` for a body that is not
/// a well-formed request, `413` for a gzip body over `max_body` once inflated (read with a
/// bounded decoder, so a gzip bomb costs at most `max_body`), `503` when inflating would pass
/// the in-flight budget.
pub(crate) fn decode<T: Message + Default + DeserializeOwned>(
    signal: Signal,
    headers: &HeaderMap,
    body: Vec<u8>,
    max_body: usize,
    reserved: &mut Reservation,
) -> Result<(Held, Encoding), Rejection> {
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
    let body = match header_value(headers, header::CONTENT_ENCODING).as_deref() {
        None | Some("identity") | Some("") => body,
        Some("gzip") => gunzip(&body, max_body, reserved)?,
        Some(other) => {
            return Err(Rejection(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content encoding {other:?}: expected gzip or none"),
            ));
        }
    };
    let held = match encoding {
        Encoding::Protobuf => Held::from_protobuf(signal, exact(body))
            .map_err(|e| Rejection(StatusCode::BAD_REQUEST, format!("protobuf: {e}")))?,
        Encoding::Json => {
            let request: T = serde_json::from_slice(&body)
                .map_err(|e| Rejection(StatusCode::BAD_REQUEST, format!("json: {e}")))?;
            Held::from_message(signal, &request)
        }
    };
    Ok((held, encoding))
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
