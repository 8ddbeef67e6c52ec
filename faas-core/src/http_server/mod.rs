//! [`HttpServerLayer`]: a provider-neutral tower layer that traces every request of an HTTP
//! server (an axum `Router`, a hyper service, anything that is a
//! `Service<http::Request<B>, Response = http::Response<ResB>>`) as one FaaS invocation.
//!
//! Platforms that run a function as an HTTP server (Cloud Run and Cloud Run functions, Azure
//! Functions custom handlers) deliver each invocation as a request. For each request the layer:
//!
//! 1. asks the *describer* ([`Describer`], default [`describe_request`]) for the invocation:
//!    trigger, span name and kind, attributes, links;
//! 2. extracts the parent from the request headers with the telemetry's configured
//!    [`Propagation`] (`OTEL_PROPAGATORS`), then, only when that finds no parent, with the
//!    optional fallback propagation ([`HttpServerLayer::with_fallback_propagation`], used by
//!    faas-gcp for `X-Cloud-Trace-Context`). A parent the describer already set wins. A missing
//!    or malformed header gives a fresh root;
//! 3. starts the invocation span ([`Telemetry::start_invocation`]: cold start, trigger) and runs
//!    the inner service with the span's context current, so the handler's spans are children;
//! 4. records `http.response.status_code` and ends the span with
//!    [`Outcome::from_http_status`] (5xx is an error), or [`Outcome::from_error`] when the inner
//!    service fails;
//! 5. flushes ([`Telemetry::flush`], bounded by `FAAS_OTEL_FLUSH_TIMEOUT_MS`) according to the
//!    [`FlushPolicy`].
//!
//! # Flushing before the response (the default)
//!
//! Cloud Run with request-based billing throttles the CPU of an instance to almost nothing as
//! soon as it has no request in flight, and Azure's consumption plan may freeze it. A flush
//! started *after* the response is written may therefore never run, and the spans would wait
//! in memory for the next request (or be lost when the instance is stopped).
//! [`FlushPolicy::BeforeResponse`] exports while the request is still in flight: the client
//! sees the response later by the flush's duration, at most the flush budget (250 ms by
//! default, usually a few milliseconds to a nearby collector). Choose
//! [`FlushPolicy::AfterResponse`] when the CPU stays allocated after the response (Cloud Run's
//! instance-based billing, "CPU always allocated", Azure dedicated plans): the flush is then
//! spawned on the tokio runtime and the response is not delayed.
//!
//! The span covers the handler up to the response *head*; streaming of the body is not timed.
//!
//! # What is never recorded
//!
//! The default describer reads only the method, the URI and the `host`, `user-agent`,
//! `x-forwarded-proto` and `x-forwarded-for` headers. Credentials (`authorization`, `cookie`,
//! `x-api-key`, …, see [`DENIED_HEADERS`]) are never read, and the values of sensitive query
//! parameters ([`REDACTED_QUERY_PARAMS`]) are replaced by `REDACTED` in `url.query`. The
//! telemetry's [`HttpPrivacy`](crate::http_privacy::HttpPrivacy) (`FAAS_OTEL_DENY_HEADERS`,
//! `FAAS_OTEL_DENY_QUERY_PARAMS`) adds to both lists; the providers' describers apply it too.
//!
//! # Example
//!
//! ```
//! use faas_core::env::Env;
//! use faas_core::faas_environment::LocalEnvironment;
//! use faas_core::http_server::{FlushPolicy, HttpServerLayer};
//! use faas_core::pipeline::Telemetry;
//! use tower::{Layer, Service, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let telemetry = Telemetry::builder(LocalEnvironment::named("hello"))
//!     .with_env(Env::from_pairs([("OTEL_TRACES_EXPORTER", "none"), ("OTEL_METRICS_EXPORTER", "none")]))
//!     .install_global(false)
//!     .build()?;
//! let layer = HttpServerLayer::new(telemetry).with_flush_policy(FlushPolicy::BeforeResponse);
//! let mut service = layer.layer(tower::service_fn(|_req: http::Request<String>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hi")))
//! }));
//! let response = service.ready().await?.call(http::Request::new(String::new())).await?;
//! assert_eq!(response.status(), 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod flush_policy;
#[cfg(feature = "axum")]
mod server;
#[cfg(feature = "axum")]
mod shutdown_grace;
mod triggers;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};

use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt as _;
use tower::{Layer, Service};

pub use flush_policy::FlushPolicy;
#[cfg(feature = "axum")]
pub use server::{ServerOptions, port_from_env};
#[cfg(feature = "axum")]
pub use shutdown_grace::{DEFAULT_SHUTDOWN_GRACE, SHUTDOWN_GRACE_VAR, shutdown_grace};
pub use triggers::{
    describe_request, describe_request_with_route, http_attributes, normalize_method, span_name,
    split_host,
};

pub use crate::http_privacy::{DENIED_HEADERS, REDACTED, REDACTED_QUERY_PARAMS};

use crate::attributes::FLUSH_DROPPED_SPANS;
use crate::attributes::semconv::attribute as attr;
use crate::invocation::{Invocation, Outcome};
use crate::pipeline::Telemetry;
use crate::propagation::{HeaderExtractor, Propagation, has_remote_parent};
use crate::watchdog::WatchdogConfig;

/// Describes the invocation a request is: trigger, span name, kind, attributes, links and,
/// optionally, a parent (which then wins over the headers' one).
///
/// It sees the request head only (method, URI, headers, extensions), never the body; a
/// provider that needs the body (CloudEvents) parses it in an outer layer and leaves the
/// result in the request's extensions.
pub type Describer = Arc<dyn Fn(&http::request::Parts) -> Invocation + Send + Sync>;

/// Traces every request as a FaaS invocation; see the [module docs](self).
///
/// Cheap to clone; clones share the telemetry and the dropped-span counter.
#[derive(Clone)]
pub struct HttpServerLayer {
    telemetry: Telemetry,
    describer: Describer,
    fallback: Option<Propagation>,
    flush_policy: FlushPolicy,
    /// Spans earlier flushes dropped, reported on the next invocation span.
    dropped: Arc<AtomicU64>,
    /// The watchdog of each request, when the platform's timeout is configured.
    watchdog: Option<WatchdogConfig>,
}

impl fmt::Debug for HttpServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServerLayer")
            .field("fallback", &self.fallback)
            .field("flush_policy", &self.flush_policy)
            .finish_non_exhaustive()
    }
}

impl HttpServerLayer {
    /// A layer recording into `telemetry` with the default describer ([`describe_request`]
    /// with the telemetry's [`HttpPrivacy`](crate::http_privacy::HttpPrivacy)), no fallback
    /// propagation and [`FlushPolicy::BeforeResponse`].
    pub fn new(telemetry: Telemetry) -> Self {
        let privacy = telemetry.config().http_privacy.clone();
        Self {
            telemetry,
            describer: Arc::new(move |parts| describe_request_with_route(parts, None, &privacy)),
            fallback: None,
            flush_policy: FlushPolicy::default(),
            dropped: Arc::new(AtomicU64::new(0)),
            watchdog: None,
        }
    }

    /// Arms a watchdog on every request whose `config` has an invocation timeout
    /// (`FAAS_OTEL_INVOCATION_TIMEOUT_MS`: Azure's `functionTimeout`, Cloud Run's request
    /// timeout, neither of which the platform sends with the request): `margin` before the
    /// request's start plus that timeout, the invocation span ends as a timeout (`error.type` =
    /// `timeout`, `faas.timeouts`), the spans still open under it end as errors and the
    /// telemetry is flushed. A request that finishes after that records nothing twice.
    /// Without an invocation timeout this does nothing.
    pub fn with_watchdog(mut self, config: WatchdogConfig) -> Self {
        self.watchdog = config.invocation_timeout.is_some().then_some(config);
        self
    }

    /// Describes requests with `describer` instead of [`describe_request`].
    pub fn with_describer(
        mut self,
        describer: impl Fn(&http::request::Parts) -> Invocation + Send + Sync + 'static,
    ) -> Self {
        self.describer = Arc::new(describer);
        self
    }

    /// Extracts the parent with `propagation` when the configured propagation found none
    /// (for example `cloudtrace` on Google Cloud, where the front end always sends
    /// `X-Cloud-Trace-Context`).
    pub fn with_fallback_propagation(mut self, propagation: Propagation) -> Self {
        self.fallback = Some(propagation);
        self
    }

    /// Sets when the spans are flushed (default [`FlushPolicy::BeforeResponse`]).
    pub fn with_flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.flush_policy = policy;
        self
    }

    /// The telemetry this layer records into.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The flush policy in force.
    pub fn flush_policy(&self) -> FlushPolicy {
        self.flush_policy
    }

    /// The invocation for a request head: the describer's, with the parent resolved from the
    /// headers and the spans the previous flushes dropped.
    pub fn invocation(&self, parts: &http::request::Parts) -> Invocation {
        let mut invocation = (self.describer)(parts);
        let described = invocation.parent.take().filter(has_remote_parent);
        let parent = described.unwrap_or_else(|| {
            let headers = HeaderExtractor(&parts.headers);
            let cx = self.telemetry.config().propagation.extract(&headers);
            match &self.fallback {
                Some(fallback) if !has_remote_parent(&cx) => {
                    fallback.extract_with_context(&cx, &headers)
                }
                _ => cx,
            }
        });
        invocation.parent = Some(parent);
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            invocation.attributes.push(KeyValue::new(
                FLUSH_DROPPED_SPANS,
                i64::try_from(dropped).unwrap_or(i64::MAX),
            ));
        }
        invocation
    }

    async fn flush(telemetry: Telemetry, dropped: Arc<AtomicU64>) {
        let report = telemetry.flush(None).await;
        if report.dropped_spans > 0 {
            dropped.fetch_add(report.dropped_spans, Ordering::Relaxed);
        }
    }
}

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`HttpServerLayer`] produces.
#[derive(Clone, Debug)]
pub struct HttpServerService<S> {
    inner: S,
    layer: HttpServerLayer,
}

impl<S, B, ResB> Service<http::Request<B>> for HttpServerService<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResB>>,
    S::Error: fmt::Display + Send + 'static,
    S::Future: Send + 'static,
    ResB: Send + 'static,
{
    type Response = http::Response<ResB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let invocation = self.layer.invocation(&parts);
        let telemetry = self.layer.telemetry.clone();
        let mut span = telemetry.start_invocation(invocation);
        if let Some(config) = &self.layer.watchdog
            && let Some(timeout) = config.invocation_timeout
        {
            let deadline = std::time::SystemTime::now().checked_add(timeout);
            if let Some(deadline) = deadline {
                span.watch_deadline(deadline, config);
            }
        }
        let future = {
            let _guard = span.context().clone().attach();
            self.inner.call(http::Request::from_parts(parts, body))
        };
        let future = span.scope(future);
        let policy = self.layer.flush_policy;
        let dropped = self.layer.dropped.clone();
        Box::pin(async move {
            let result = future.await;
            let outcome = match &result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    span.context().span().set_attribute(KeyValue::new(
                        attr::HTTP_RESPONSE_STATUS_CODE,
                        i64::from(status),
                    ));
                    Outcome::from_http_status(status)
                }
                Err(error) => Outcome::from_error(error),
            };
            span.end(outcome);
            match policy {
                FlushPolicy::BeforeResponse => HttpServerLayer::flush(telemetry, dropped).await,
                FlushPolicy::AfterResponse => {
                    drop(tokio::spawn(HttpServerLayer::flush(telemetry, dropped)));
                }
            }
            result
        })
    }
}

#[cfg(test)]
mod tests;
