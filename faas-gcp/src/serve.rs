//! [`serve`]: run an axum [`Router`] as a traced Cloud Run function.

use std::net::{IpAddr, Ipv4Addr};

use axum::Router;
use faas_core::ServeError;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::http_server::{FlushPolicy, HttpServerLayer, ServerOptions};
use faas_core::pipeline::Telemetry;
use faas_core::propagation::Propagation;
use faas_core::watchdog::WatchdogConfig;
use tokio::net::TcpListener;

use crate::environment::{GcpEnvironment, memory_mb_from_env};
use crate::metadata::ENRICH_BOUND;
use crate::triggers::GcpDescriber;

/// The variable Cloud Run sets to the port it sends requests to.
pub const PORT_VAR: &str = "PORT";
/// The port Cloud Run uses when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 8080;
/// `false` stops the `X-Cloud-Trace-Context` header from becoming the parent when no
/// configured propagator found one (default: it does).
pub const CLOUD_TRACE_PARENT_VAR: &str = "FAAS_OTEL_CLOUD_TRACE_PARENT";

/// The error of [`serve`]: faas-core's [`ServeError`], the same on every provider.
pub type Error = ServeError;

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
    let builder = crate::google_auth::with_google_auth(builder, env.clone()).await?;
    Ok(builder.build()?)
}

/// The [`HttpServerLayer`] for Cloud Run: the [`GcpDescriber`] (with the telemetry's
/// privacy lists), and `X-Cloud-Trace-Context` as the fallback parent unless
/// `FAAS_OTEL_CLOUD_TRACE_PARENT=false` or `OTEL_PROPAGATORS=none`.
pub fn layer(telemetry: &Telemetry, env: &Env) -> HttpServerLayer {
    let config = telemetry.config();
    let propagation = config.propagation.clone();
    let describer = GcpDescriber::new(telemetry.environment().function_name(), propagation.clone())
        .with_privacy(config.http_privacy.clone());
    let watchdog = WatchdogConfig::from_env_or_default(env, config.flush_timeout);
    let mut layer = HttpServerLayer::new(telemetry.clone())
        .with_describer(move |parts| describer.describe(parts))
        .with_watchdog(watchdog);
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

/// A configurable [`serve`].
///
/// For every request: the CloudEvent body (binary or structured mode) is parsed first, so the
/// invocation span can be described by the event; the [`HttpServerLayer`] (see [`layer`])
/// traces it and flushes before the response by default ([`FlushPolicy::BeforeResponse`]:
/// Cloud Run throttles the CPU once no request is in flight). On the shutdown signal
/// (SIGTERM/SIGINT by default) the server stops accepting, finishes the requests in flight
/// (abandoning those still running after `FAAS_OTEL_SHUTDOWN_GRACE_MS`, default 5000) and then
/// drains the telemetry within `FAAS_OTEL_SHUTDOWN_TIMEOUT_MS`.
///
/// The listener is bound before anything else happens, so the platform's start-up probe can
/// connect at once; the first request waits at most [`ENRICH_BOUND`] for the metadata server
/// (plus [`FETCH_BOUND`](crate::google_auth::FETCH_BOUND) for the access token with
/// `FAAS_OTEL_AUTH=google`).
#[derive(Debug)]
#[must_use]
pub struct Server {
    options: ServerOptions,
}

impl Server {
    /// A server configured by the process environment.
    pub fn from_env() -> Self {
        Self::with_env(Env::process())
    }

    /// A server configured by `env` instead of the process environment.
    pub fn with_env(env: Env) -> Self {
        Self {
            options: ServerOptions::new(env),
        }
    }

    /// Records into `telemetry` instead of building it with [`build_telemetry`].
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.options.set_telemetry(telemetry);
        self
    }

    /// Stops when `signal` resolves instead of on SIGTERM/SIGINT.
    pub fn shutdown_signal(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.options.set_shutdown_signal(signal);
        self
    }

    /// Sets when spans are flushed (default [`FlushPolicy::BeforeResponse`]).
    pub fn flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.options.set_flush_policy(policy);
        self
    }

    /// Binds `0.0.0.0:$PORT` and serves `router`.
    pub async fn serve(self, router: Router) -> Result<(), Error> {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let listener = self.options.bind(any, PORT_VAR, DEFAULT_PORT).await?;
        self.serve_on(listener, router).await
    }

    /// Serves `router` on `listener` until the shutdown signal, then drains the telemetry.
    pub async fn serve_on(self, listener: TcpListener, router: Router) -> Result<(), Error> {
        // A `RUST_LOG` that cannot be used stops start-up here, before the listener serves.
        faas_core::logging::filter_from_env(self.options.env())?;
        let app = |telemetry: &Telemetry, env: &Env, policy: FlushPolicy| {
            // Structured Cloud Logging lines (`crate::logging`), unless a global `tracing`
            // subscriber is already set (that one is kept).
            if let Ok(logging) = crate::logging::logging(telemetry, env) {
                let _installed = logging.try_init(telemetry);
            }
            router
                .layer(layer(telemetry, env).with_flush_policy(policy))
                .layer(axum::middleware::from_fn(
                    crate::cloudevent::buffer_cloudevent,
                ))
        };
        self.options.serve_on(listener, build_telemetry, app).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use faas_core::http_server::port_from_env;

    use super::*;

    #[test]
    fn port_defaults_to_8080_and_rejects_garbage() {
        let port = |pairs: &[(&str, &str)]| {
            port_from_env(
                &Env::from_pairs(pairs.iter().copied()),
                PORT_VAR,
                DEFAULT_PORT,
            )
        };
        assert_eq!(port(&[]).unwrap(), 8080);
        assert_eq!(port(&[("PORT", "9000")]).unwrap(), 9000);
        let err = port(&[("PORT", "http")]).unwrap_err();
        assert_eq!(
            (err.variable.as_str(), err.value.as_str()),
            ("PORT", "http")
        );
    }
}
