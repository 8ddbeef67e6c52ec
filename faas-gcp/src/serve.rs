//! [`serve`]: run an axum [`Router`] as a traced Cloud Run function.

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::environment::LocalEnvironment;
use faas_core::http_server::{FlushPolicy, HttpServerLayer};
use faas_core::pipeline::{Telemetry, terminated};
use faas_core::propagation::Propagation;
use tokio::net::TcpListener;

use crate::describe::GcpDescriber;
use crate::environment::{GcpEnvironment, memory_mb_from_env};
use crate::metadata::ENRICH_BOUND;

/// The port Cloud Run uses when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 8080;
/// `false` stops the `X-Cloud-Trace-Context` header from becoming the parent when no
/// configured propagator found one (default: it does).
pub const CLOUD_TRACE_PARENT_VAR: &str = "FAAS_OTEL_CLOUD_TRACE_PARENT";

/// Errors of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The telemetry could not be built (a bad `OTEL_*` or `FAAS_OTEL_*` value).
    #[error(transparent)]
    Telemetry(#[from] faas_core::Error),
    /// A bad `PORT` or `FAAS_OTEL_MEMORY_MB`.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Binding or serving failed.
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `router` on `0.0.0.0:$PORT` (default 8080) until SIGTERM, tracing every request.
///
/// Cloud Run sends requests to the container's port on its external interface, so the server
/// listens on all interfaces (`0.0.0.0`), never on loopback alone. See [`Server`] for the
/// whole behaviour; this is `Server::from_env().serve(router)`.
pub async fn serve(router: Router) -> Result<(), Error> {
    Server::from_env().serve(router).await
}

/// As [`serve`], on a listener the caller bound (tests bind `127.0.0.1:0`).
pub async fn serve_on(listener: TcpListener, router: Router) -> Result<(), Error> {
    Server::from_env().serve_on(listener, router).await
}

/// Builds the telemetry of a Cloud Run function from `env`.
///
/// On Cloud Run / Cloud Run functions ([`GcpEnvironment`]: `K_SERVICE`, `FUNCTION_TARGET` or
/// `CLOUD_RUN_JOB` set) it first asks the metadata server for `cloud.account.id`,
/// `cloud.region` and `faas.instance`, waiting at most [`ENRICH_BOUND`] (300 ms): the resource
/// is fixed when the pipeline is built, so the values are only on the resource when they
/// arrive in time. Elsewhere it uses [`LocalEnvironment`] and contacts nothing.
pub async fn build_telemetry(env: &Env) -> Result<Telemetry, Error> {
    memory_mb_from_env(env)?;
    let builder = match GcpEnvironment::from_env(env) {
        Some(gcp) => {
            Telemetry::builder(gcp)
                .with_env(env.clone())
                .enrich_within(ENRICH_BOUND)
                .await
        }
        None => Telemetry::builder(LocalEnvironment::from_env(env)).with_env(env.clone()),
    };
    Ok(builder.build()?)
}

/// The [`HttpServerLayer`] for Cloud Run: the [`GcpDescriber`], and `X-Cloud-Trace-Context`
/// as the fallback parent unless `FAAS_OTEL_CLOUD_TRACE_PARENT=false` or `OTEL_PROPAGATORS=none`.
pub fn layer(telemetry: &Telemetry, env: &Env) -> HttpServerLayer {
    let propagation = telemetry.config().propagation.clone();
    let describer = GcpDescriber::new(telemetry.environment().function_name(), propagation.clone());
    let mut layer = HttpServerLayer::new(telemetry.clone())
        .with_describer(move |parts| describer.describe(parts));
    let cloud_trace = env
        .get(CLOUD_TRACE_PARENT_VAR)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
    if cloud_trace
        && !propagation.is_disabled()
        && let Ok(fallback) = Propagation::from_names("cloudtrace")
    {
        layer = layer.with_fallback_propagation(fallback);
    }
    layer
}

/// The port from `PORT`, default [`DEFAULT_PORT`].
pub fn port(env: &Env) -> Result<u16, ConfigError> {
    match env.get("PORT").filter(|p| !p.trim().is_empty()) {
        None => Ok(DEFAULT_PORT),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| ConfigError::new("PORT", value, "expected a TCP port, 0 to 65535")),
    }
}

type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A configurable [`serve`].
///
/// For every request: the CloudEvent body (binary or structured mode) is parsed first, so the
/// invocation span can be described by the event; the [`HttpServerLayer`] (see [`layer`])
/// traces it and flushes before the response by default ([`FlushPolicy::BeforeResponse`]:
/// Cloud Run throttles the CPU once no request is in flight). On the shutdown signal
/// (SIGTERM/SIGINT by default) the server stops accepting, finishes the requests in flight
/// and then drains the telemetry within `FAAS_OTEL_SHUTDOWN_TIMEOUT_MS`.
///
/// The listener is bound before anything else happens, so the platform's start-up probe can
/// connect at once; the first request waits at most [`ENRICH_BOUND`] for the metadata server.
#[must_use]
pub struct Server {
    env: Env,
    telemetry: Option<Telemetry>,
    shutdown: Option<Shutdown>,
    flush_policy: FlushPolicy,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("flush_policy", &self.flush_policy)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server configured by the process environment.
    pub fn from_env() -> Self {
        Self::with_env(Env::process())
    }

    /// A server configured by `env` instead of the process environment.
    pub fn with_env(env: Env) -> Self {
        Self {
            env,
            telemetry: None,
            shutdown: None,
            flush_policy: FlushPolicy::default(),
        }
    }

    /// Records into `telemetry` instead of building it with [`build_telemetry`].
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// Stops when `signal` resolves instead of on SIGTERM/SIGINT.
    pub fn shutdown_signal(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Sets when spans are flushed (default [`FlushPolicy::BeforeResponse`]).
    pub fn flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.flush_policy = policy;
        self
    }

    /// Binds `0.0.0.0:$PORT` and serves `router`.
    pub async fn serve(self, router: Router) -> Result<(), Error> {
        let port = port(&self.env)?;
        let listener = TcpListener::bind(("0.0.0.0", port)).await?;
        self.serve_on(listener, router).await
    }

    /// Serves `router` on `listener` until the shutdown signal, then drains the telemetry.
    pub async fn serve_on(self, listener: TcpListener, router: Router) -> Result<(), Error> {
        let telemetry = match self.telemetry {
            Some(telemetry) => telemetry,
            None => build_telemetry(&self.env).await?,
        };
        telemetry.cold_start().mark_phase("ready");
        let app = router
            .layer(layer(&telemetry, &self.env).with_flush_policy(self.flush_policy))
            .layer(axum::middleware::from_fn(
                crate::cloudevent::buffer_cloudevent,
            ));
        let shutdown = self.shutdown.unwrap_or_else(|| Box::pin(terminated()));
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        let _report = telemetry.shutdown().await;
        Ok(served?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn port_defaults_to_8080_and_rejects_garbage() {
        assert_eq!(port(&Env::from_pairs::<&str, &str>([])).unwrap(), 8080);
        assert_eq!(port(&Env::from_pairs([("PORT", "9000")])).unwrap(), 9000);
        let err = port(&Env::from_pairs([("PORT", "http")])).unwrap_err();
        assert_eq!(
            (err.variable.as_str(), err.value.as_str()),
            ("PORT", "http")
        );
    }
}
