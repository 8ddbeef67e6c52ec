//! The HTTP client the OTLP exporter sends with.
//!
//! faas-core brings its own async client instead of enabling `opentelemetry-otlp`'s
//! `reqwest-client` feature: that feature, once on anywhere in a build, makes every
//! `BatchSpanProcessor` in the program use an async client on its own thread, where it panics
//! with "there is no reactor running". Exports run on the caller's tokio runtime, inside the
//! flush, under its time budget.

use std::time::Duration;

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

/// Largest response body read from a collector (OTLP responses are tiny).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// An async reqwest client with a per-request timeout that follows no redirect.
#[derive(Debug, Clone)]
pub(crate) struct ExportHttpClient {
    client: reqwest::Client,
}

impl ExportHttpClient {
    /// A client with `timeout` per request. Without `tls` (a plain-HTTP endpoint) it gets an
    /// empty root store instead of the platform verifier, so building it reads no certificate
    /// file on the cold-start path; it can then reach no `https://` URL, which it never has to
    /// (it follows no redirect).
    pub(crate) fn new(timeout: Duration, tls: bool) -> Result<Self, reqwest::Error> {
        let builder = reqwest::Client::builder();
        #[cfg(feature = "tls")]
        let builder = if tls {
            builder
        } else {
            builder.tls_certs_only(std::iter::empty())
        };
        #[cfg(not(feature = "tls"))]
        let _ = tls;
        let client = builder
            .timeout(timeout)
            .connect_timeout(timeout)
            // A frozen execution environment can outlive the collector's keep-alive: do not
            // keep idle connections around for long.
            .pool_idle_timeout(Duration::from_secs(30))
            // A redirect would carry the export headers (API keys) to another host: a 3xx
            // answer is a failed export instead.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(Self { client })
    }
}

#[async_trait::async_trait]
impl HttpClient for ExportHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let mut response = self.client.execute(request).await?;
        let mut builder = Response::builder().status(response.status());
        if let Some(headers) = builder.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(builder.body(Bytes::from(body))?)
    }
}
