//! A collector's answer with its body read up to a limit (OTLP answers are tiny; the rest is
//! left unread), for both export connections.

use bytes::Bytes;
use http_body_util::BodyExt;
use opentelemetry_http::Response;

/// The answer with at most `max_body` bytes of its body, and whether the body was read to its
/// end (only then can its connection take another request).
pub(crate) async fn read_capped(
    response: hyper::Response<hyper::body::Incoming>,
    max_body: usize,
) -> Result<(Response<Bytes>, bool), hyper::Error> {
    let (parts, mut body) = response.into_parts();
    let mut read = Vec::new();
    let mut complete = true;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        if read.len().saturating_add(data.len()) > max_body {
            complete = false;
            break;
        }
        read.extend_from_slice(&data);
    }
    Ok((Response::from_parts(parts, Bytes::from(read)), complete))
}
