//! The HTTP client the OTLP exporter sends with.
//!
//! faas-core brings its own async client instead of enabling `opentelemetry-otlp`'s
//! `reqwest-client` feature: that feature, once on anywhere in a build, makes every
//! `BatchSpanProcessor` in the program use an async client on its own thread, where it panics
//! with "there is no reactor running". Exports run on the caller's tokio runtime, inside the
//! flush, under its time budget.
//!
//! It is hyper 1's HTTP/1 client, the one `lambda_runtime` links already, so tracing adds no
//! second HTTP stack (nor `url`/`idna`) to a function: for `http://` one connection driven by
//! the exporting task ([`InlineConnection`]), for `https://` `hyper-util`'s pooled client.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

use super::export_body::ExportBody;
use super::export_deadline;
use super::inline_connection::InlineConnection;

/// Largest response body read from a collector (OTLP responses are tiny); the rest is left
/// unread.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How long an idle connection is kept for the next export. A frozen execution environment can
/// outlive the collector's keep-alive: do not keep idle connections around for long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// An async HTTP/1 client with a per-request timeout that follows no redirect (hyper's client
/// never does: a 3xx is the answer, so the export headers, API keys, never travel to another
/// host) and knows no proxy. Requests carry body type `B` (see [`ExportBody`]).
pub(crate) struct ExportHttpClient<B: ExportBody> {
    sender: Sender<B>,
    timeout: Duration,
}

/// The connection, with TLS only when the endpoint needs it.
enum Sender<B: ExportBody> {
    /// `http://` only: no certificate is read to build it. One connection, driven by the
    /// exporting task ([`InlineConnection`]): the usual collector is on loopback (the Lambda
    /// extension, a sidecar), where another thread's wake-ups cost more than the exchange.
    Plain(Box<InlineConnection<B>>),
    /// `https://` only, rustls with the roots of [`super::export_tls`]: hyper-util's pooled
    /// client.
    #[cfg(feature = "tls")]
    Tls(
        Box<
            hyper_util::client::legacy::Client<
                hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
                B,
            >,
        >,
    ),
}

impl<B: ExportBody> ExportHttpClient<B> {
    /// A client with `timeout` per request (connecting, sending and reading the answer) and
    /// as connect timeout. With `tls` (an `https://` endpoint) and the `tls` feature it speaks
    /// TLS only, trusting `certificate` (a PEM file) when given, else the compiled-in roots;
    /// otherwise it speaks plain HTTP only and building it reads no certificate on the
    /// cold-start path. It can then reach no `https://` URL, which it never has to (it follows
    /// no redirect): such an export fails as a network error.
    pub(crate) fn new(
        timeout: Duration,
        tls: bool,
        certificate: Option<&Path>,
    ) -> Result<Self, String> {
        #[cfg(feature = "tls")]
        if tls {
            use hyper_util::client::legacy::Client;
            use hyper_util::client::legacy::connect::HttpConnector;
            use hyper_util::rt::{TokioExecutor, TokioTimer};
            let mut connector = HttpConnector::new();
            connector.set_connect_timeout(Some(timeout));
            connector.set_nodelay(true);
            let mut builder = Client::builder(TokioExecutor::new());
            builder
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .pool_timer(TokioTimer::new());
            connector.enforce_http(false);
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(super::export_tls::client_config(certificate)?)
                .https_only()
                .enable_http1()
                .wrap_connector(connector);
            return Ok(Self {
                sender: Sender::Tls(Box::new(builder.build(https))),
                timeout,
            });
        }
        #[cfg(not(feature = "tls"))]
        let _ = (tls, certificate);
        Ok(Self {
            sender: Sender::Plain(Box::new(InlineConnection::new(POOL_IDLE_TIMEOUT))),
            timeout,
        })
    }

    /// Sends `request` and reads at most [`MAX_RESPONSE_BYTES`] of the answer's body.
    async fn exchange(&self, request: Request<B>) -> Result<Response<Bytes>, HttpError> {
        match &self.sender {
            Sender::Plain(connection) => connection.exchange(request, MAX_RESPONSE_BYTES).await,
            #[cfg(feature = "tls")]
            Sender::Tls(client) => {
                let response = client.request(request).await?;
                let (answer, _complete) =
                    super::capped_answer::read_capped(response, MAX_RESPONSE_BYTES).await?;
                Ok(answer)
            }
        }
    }
}

impl<B: ExportBody> fmt::Debug for ExportHttpClient<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tls = match self.sender {
            Sender::Plain(_) => false,
            #[cfg(feature = "tls")]
            Sender::Tls(_) => true,
        };
        f.debug_struct("ExportHttpClient")
            .field("tls", &tls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl<B: ExportBody> HttpClient for ExportHttpClient<B> {
    /// Any failure (refused, reset, timed out, a TLS error) is an `Err`, which
    /// `opentelemetry-otlp` reports as "network error": retryable for `export_error`.
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = request.map(B::from);
        let by = tokio::time::Instant::now().checked_add(self.timeout);
        if by.is_some_and(export_deadline::ends_by) {
            // The flush's own timer ends this first: no second timer.
            return self.exchange(request).await;
        }
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(answer) => answer,
            Err(_elapsed) => Err(Box::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {:?}", self.timeout),
            ))),
        }
    }
}
