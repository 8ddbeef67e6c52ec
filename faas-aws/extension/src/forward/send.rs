//! [`send`]: one upstream request, retried within its deadline.

use std::time::Instant;

use crate::config::ExtensionConfig;

use super::backoff::{Backoff, jitter};
use super::encode::Encoded;
use super::retry_after::retry_after;

/// How one upstream request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Answered 2xx.
    Delivered,
    /// Not delivered before the deadline: keep it for a later export.
    Retry,
    /// Refused with a 4xx other than 429: sending it again cannot succeed.
    Rejected,
}

/// POSTs `body` to the upstream's `path`; connection errors, 429 and 5xx are retried with
/// exponential backoff and jitter, honouring `Retry-After`, until `deadline`.
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
        if now >= deadline {
            return Sent::Retry;
        }
        let mut builder = client
            .post(&url)
            .timeout(deadline - now)
            .header("content-type", body.content_type)
            .body(body.body.clone());
        if body.gzip {
            builder = builder.header("content-encoding", "gzip");
        }
        for (name, value) in &config.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let wait = match builder.send().await {
            Ok(response) if response.status().is_success() => return Sent::Delivered,
            Ok(response) => {
                let status = response.status().as_u16();
                if status != 429 && !(500..600).contains(&status) {
                    eprintln!(
                        "faas-otel-extension: upstream {path} answered {status}; not retried, data dropped"
                    );
                    return Sent::Rejected;
                }
                retry_after(response.headers()).unwrap_or(backoff.delay())
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
