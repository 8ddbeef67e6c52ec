//! [`ServerOptions`]: the options and the serving loop every HTTP provider's `Server` shares
//! (faas-azure, faas-gcp): the telemetry, the shutdown signal, the flush policy, binding the
//! platform's port, serving an axum [`Router`] until the signal and draining the telemetry.

use std::future::{Future, IntoFuture};
use std::net::IpAddr;

use axum::Router;
use tokio::net::TcpListener;

use super::flush_policy::FlushPolicy;
use crate::env::Env;
use crate::error::{ConfigError, ServeError};
use crate::pipeline::{ShutdownSignal, Telemetry, terminated};
use crate::watchdog::WatchdogConfig;

/// What a provider's `Server` is told before it starts, and its serving loop: the telemetry,
/// the shutdown signal, the flush policy, binding the platform's port, serving an axum
/// [`Router`] until the signal and draining the telemetry.
///
/// Providers wrap it in their own `Server` (which adds what only that platform has) and hand it
/// the router with [`ServerOptions::serve_on`].
#[must_use]
pub struct ServerOptions {
    env: Env,
    telemetry: Option<Telemetry>,
    shutdown: Option<ShutdownSignal>,
    flush_policy: FlushPolicy,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("flush_policy", &self.flush_policy)
            .field("telemetry", &self.telemetry.is_some())
            .field("shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// Options read from `env`: telemetry built by the provider, SIGTERM/SIGINT as the
    /// shutdown signal, [`FlushPolicy::BeforeResponse`].
    pub fn new(env: Env) -> Self {
        Self {
            env,
            telemetry: None,
            shutdown: None,
            flush_policy: FlushPolicy::default(),
        }
    }

    /// The variables the server is configured by.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The flush policy in force.
    pub fn flush_policy(&self) -> FlushPolicy {
        self.flush_policy
    }

    /// Records into `telemetry` instead of the one the provider builds.
    pub fn set_telemetry(&mut self, telemetry: Telemetry) {
        self.telemetry = Some(telemetry);
    }

    /// Stops when `signal` resolves instead of on SIGTERM/SIGINT.
    pub fn set_shutdown_signal(&mut self, signal: impl Future<Output = ()> + Send + 'static) {
        self.shutdown = Some(Box::pin(signal));
    }

    /// Sets when spans are flushed.
    pub fn set_flush_policy(&mut self, policy: FlushPolicy) {
        self.flush_policy = policy;
    }

    /// Binds `host` on the port in `port_var` (`default_port` when unset).
    pub async fn bind(
        &self,
        host: IpAddr,
        port_var: &str,
        default_port: u16,
    ) -> Result<TcpListener, ServeError> {
        let port = port_from_env(&self.env, port_var, default_port)?;
        Ok(TcpListener::bind((host, port)).await?)
    }

    /// Serves on `listener` until the shutdown signal, waits at most
    /// `FAAS_OTEL_SHUTDOWN_GRACE_MS` (default 5000) for the requests in flight, then drains the
    /// telemetry within `FAAS_OTEL_SHUTDOWN_TIMEOUT_MS`.
    ///
    /// The telemetry is the one set with [`ServerOptions::set_telemetry`], else
    /// `build_telemetry(env)`; `app` turns it (with the
    /// variables and the flush policy) into the traced router, and the cold start is marked
    /// ready ([`ColdStart::mark_ready`](crate::cold_start::ColdStart::mark_ready)) just before
    /// the server accepts. The server stops accepting on
    /// the signal and finishes the requests in flight before the drain; those still running
    /// when the grace ends are abandoned (a line on stderr says so), so a request that never
    /// finishes cannot keep the process alive past the platform's kill.
    pub async fn serve_on<B, A>(
        self,
        listener: TcpListener,
        build_telemetry: B,
        app: A,
    ) -> Result<(), ServeError>
    where
        B: AsyncFnOnce(&Env) -> Result<Telemetry, ServeError>,
        A: FnOnce(&Telemetry, &Env, FlushPolicy) -> Router,
    {
        // A bad FAAS_OTEL_SHUTDOWN_GRACE_MS stops start-up.
        let grace = super::shutdown_grace::shutdown_grace(&self.env)?;
        let telemetry = match self.telemetry {
            Some(telemetry) => telemetry,
            None => build_telemetry(&self.env).await?,
        };
        // A bad FAAS_OTEL_INVOCATION_TIMEOUT_MS / FAAS_OTEL_TIMEOUT_MARGIN_MS stops start-up.
        WatchdogConfig::from_env(&self.env, telemetry.config().flush_timeout)?;
        crate::panic_hook::install(&telemetry);
        let app = app(&telemetry, &self.env, self.flush_policy);
        // Accepting is asking for the first event: initialization ends here (its last phase,
        // `ready`, is building the app); the wait for the first request is not part of it.
        telemetry.cold_start().mark_ready();
        let shutdown = self.shutdown.unwrap_or_else(|| Box::pin(terminated()));
        let (signal, on_signal) = super::shutdown_grace::notifying(shutdown);
        let server = axum::serve(listener, app).with_graceful_shutdown(signal);
        let served = super::shutdown_grace::bounded(server.into_future(), on_signal, grace).await;
        let _report = telemetry.shutdown().await;
        match served {
            super::shutdown_grace::Stopped::Finished(served) => Ok(served?),
            super::shutdown_grace::Stopped::GaveUp => {
                eprintln!(
                    "faas-otel: requests still in flight {} ms after the shutdown signal were \
                     abandoned ({})",
                    grace.as_millis(),
                    super::shutdown_grace::SHUTDOWN_GRACE_VAR
                );
                Ok(())
            }
        }
    }
}

/// The TCP port in `variable`, `default` when it is unset.
pub fn port_from_env(env: &Env, variable: &str, default: u16) -> Result<u16, ConfigError> {
    match env.get(variable) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| ConfigError::new(variable, value, "expected a TCP port, 0 to 65535")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ports_default_when_unset_and_garbage_is_named() {
        assert_eq!(
            port_from_env(&Env::from_pairs::<&str, &str>([]), "PORT", 8080).unwrap(),
            8080
        );
        let env = Env::from_pairs([("PORT", " 9000 ")]);
        assert_eq!(port_from_env(&env, "PORT", 8080).unwrap(), 9000);
        for bad in ["http", "70000", "-1", "80 80"] {
            let err = port_from_env(&Env::from_pairs([("PORT", bad)]), "PORT", 1).unwrap_err();
            assert_eq!((err.variable.as_str(), err.value.as_str()), ("PORT", bad));
        }
    }
}
