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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_over_the_configured_limit_is_413_and_one_at_it_is_kept() {
        let limit = 1 << 20;
        let over = read_body(Body::from(vec![0u8; 2 << 20]), limit).await;
        assert_eq!(over.unwrap_err().0, StatusCode::PAYLOAD_TOO_LARGE);
        let at = read_body(Body::from(vec![7u8; limit]), limit)
            .await
            .unwrap();
        assert_eq!(at.len(), limit);
    }
}
