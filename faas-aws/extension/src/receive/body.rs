//! [`read_body`]: a request body read with a size limit that still lets the client hear `413`.

use axum::body::Body;
use axum::http::StatusCode;
use futures_util::StreamExt;

use super::rejection::Rejection;

/// The most bytes of an oversized body read (and discarded) before answering `413`: a client
/// still writing its body would otherwise see its connection reset instead of the answer.
const DRAIN_LIMIT: usize = 64 << 20;

/// Reads the raw body, at most `max_body` bytes kept; a longer body is read on and discarded
/// (up to [`DRAIN_LIMIT`]) and answered `413`.
pub(crate) async fn read_body(body: Body, max_body: usize) -> Result<Vec<u8>, Rejection> {
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
