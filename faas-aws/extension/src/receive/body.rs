//! [`read_body`]: a request body read with a size limit that still lets the client hear `413`.

use axum::body::Body;
use axum::http::StatusCode;
use futures_util::StreamExt;

use super::in_flight::Reservation;
use super::rejection::Rejection;

/// The most bytes of an oversized body read (and discarded) before answering `413`: a client
/// still writing its body would otherwise see its connection reset instead of the answer.
const DRAIN_LIMIT: usize = 64 << 20;

/// The rejection of a request over the in-flight budget: `503` with `Retry-After`.
pub(crate) fn overloaded() -> Rejection {
    Rejection(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many request bodies in flight; retry later".into(),
    )
}

/// Reads the raw body, at most `max_body` bytes kept, each byte kept reserved in `reserved`
/// first (`503` when the in-flight budget is spent); a longer body is read on and discarded
/// (up to [`DRAIN_LIMIT`]) and answered `413`. `size_hint` (the `content-length`) sizes the
/// buffer at once.
pub(crate) async fn read_body(
    body: Body,
    max_body: usize,
    size_hint: Option<usize>,
    reserved: &mut Reservation,
) -> Result<Vec<u8>, Rejection> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    if let Some(hint) = size_hint.filter(|n| *n <= max_body) {
        if !reserved.grow_to(hint) {
            return Err(overloaded());
        }
        out.reserve_exact(hint);
    }
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Rejection(StatusCode::BAD_REQUEST, format!("reading body: {e}")))?;
        total = total.saturating_add(chunk.len());
        if total <= max_body {
            // Grown by doubling, never past the limit: the capacity is what is reserved.
            let needed = out.len() + chunk.len();
            if needed > out.capacity() {
                let grown = needed.max(out.capacity().saturating_mul(2)).min(max_body);
                out.reserve_exact(grown - out.len());
            }
            if !reserved.grow_to(out.capacity()) {
                return Err(overloaded());
            }
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
    use crate::receive::in_flight::InFlightBytes;

    #[tokio::test]
    async fn a_body_over_the_configured_limit_is_413_and_one_at_it_is_kept() {
        let limit = 1 << 20;
        let budget = InFlightBytes::new(4 << 20);
        let mut reserved = budget.reservation();
        let over = read_body(Body::from(vec![0u8; 2 << 20]), limit, None, &mut reserved).await;
        assert_eq!(over.unwrap_err().0, StatusCode::PAYLOAD_TOO_LARGE);
        let at = read_body(
            Body::from(vec![7u8; limit]),
            limit,
            Some(limit),
            &mut reserved,
        )
        .await
        .unwrap();
        assert_eq!(at.len(), limit);
        assert!(budget.used() >= limit);
        drop(reserved);
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn a_body_over_the_in_flight_budget_is_503() {
        let budget = InFlightBytes::new(1000);
        let mut first = budget.reservation();
        assert!(first.grow_to(600));
        let mut reserved = budget.reservation();
        let refused = read_body(Body::from(vec![1u8; 500]), 4096, None, &mut reserved).await;
        assert_eq!(refused.unwrap_err().0, StatusCode::SERVICE_UNAVAILABLE);
        let hinted = read_body(Body::from(vec![1u8; 500]), 4096, Some(500), &mut reserved).await;
        assert_eq!(hinted.unwrap_err().0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(budget.refused(), 2);
        drop(first);
        let fits = read_body(Body::from(vec![1u8; 500]), 4096, Some(500), &mut reserved).await;
        assert_eq!(fits.unwrap().len(), 500);
    }
}
