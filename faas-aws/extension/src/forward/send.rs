//! [`send`]: one upstream request, retried within its deadline.

use std::time::Instant;

use crate::config::{ExtensionConfig, Protocol};

use super::backoff::{Backoff, jitter};
use super::encode::Encoded;
use super::partial_success::{Rejected, partial_success};
use super::retry_after::retry_after;

/// The most of a success answer's body read (for its `partial_success`); the rest is ignored.
const MAX_ANSWER_BYTES: usize = 64 << 10;

/// How one upstream request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Answered 2xx; with what the upstream rejected of it (`partial_success`), if anything.
    Delivered(Option<Rejected>),
    /// Not delivered before the deadline: keep it for a later export.
    Retry,
    /// `413`: the batch is too large for the upstream; split it.
    TooLarge,
    /// Refused with this status (a 4xx other than 413 and 429, or a redirect, never followed):
    /// sending it again cannot succeed.
    Refused(u16),
}

/// POSTs `body` to the upstream's `path`; connection errors, 429 and 5xx are retried with
/// exponential backoff and jitter, honouring `Retry-After` (clamped to the time left), until
/// `deadline`. Every wait, the request's own included, ends by `deadline`.
pub(crate) async fn send(
    client: &reqwest::Client,
    config: &ExtensionConfig,
    path: &str,
    body: &Encoded,
    deadline: Instant,
) -> Sent {
    let url = format!("{}{path}", config.endpoint);
    let mut backoff = Backoff::default();
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let now = Instant::now();
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            return Sent::Retry;
        }
        let mut builder = client
            .post(&url)
            .timeout(left)
            .header("content-type", body.content_type)
            .body(body.body.clone());
        if body.gzip {
            builder = builder.header("content-encoding", "gzip");
        }
        for (name, value) in &config.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let builder = super::sigv4::signed(builder, config.sigv4.as_deref());
        let wait = match builder.send().await {
            Ok(response) if response.status().is_success() => {
                let json = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map_or(config.protocol == Protocol::Json, |t| t.contains("json"));
                let answer = read_bounded(response).await;
                return Sent::Delivered(partial_success(&answer, json));
            }
            Ok(response) => {
                let status = response.status().as_u16();
                if status == 413 {
                    return Sent::TooLarge;
                }
                if status != 429 && !(500..600).contains(&status) {
                    let why = if (300..400).contains(&status) {
                        "a redirect, not followed"
                    } else {
                        "not retried"
                    };
                    eprintln!(
                        "faas-otel-extension: upstream {path} answered {status} ({why}); data dropped"
                    );
                    return Sent::Refused(status);
                }
                let left = deadline.saturating_duration_since(Instant::now());
                retry_after(response.headers(), left).unwrap_or(backoff.delay())
            }
            Err(error) => {
                if attempt == 1 {
                    eprintln!("faas-otel-extension: upstream {path}: {error}; retrying");
                }
                backoff.delay()
            }
        };
        let wait = jitter(wait);
        if Instant::now()
            .checked_add(wait)
            .is_none_or(|resume| resume >= deadline)
        {
            return Sent::Retry;
        }
        tokio::time::sleep(wait).await;
        backoff.grow();
    }
}

/// The first [`MAX_ANSWER_BYTES`] of a response's body (empty when reading fails: the status
/// already said it was delivered). The request's timeout bounds the read.
async fn read_bounded(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    body
}
