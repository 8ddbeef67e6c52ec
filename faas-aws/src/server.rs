//! [`Server`]: a traced Lambda function with its options set before it starts, the same shape
//! as `faas_azure::Server` and `faas_gcp::Server`. [`crate::run()`], [`crate::run_http`] and
//! [`crate::serve`] are `Server::from_env()` with its defaults.
//!
//! Whatever it runs, it installs the two layers together, each in the one position where it
//! works: [`OutcomeLayer`] (or [`HttpOutcomeLayer`](crate::HttpOutcomeLayer)) around the
//! handler, where the typed result is known, and [`FaasLayer`] around `lambda_runtime`'s raw
//! invocation service, where the event and the Lambda context are. It flushes after every
//! invocation, drains on SIGTERM and serves invocations concurrently when
//! `AWS_LAMBDA_MAX_CONCURRENCY` is above 1 (Lambda Managed Instances). On a multi-thread
//! runtime the loop is a task on a worker thread, so the handler runs there too
//! (`crate::worker_task` says why).

use std::fmt::{Debug, Display};
use std::sync::Arc;

use faas_core::ServeError;
use faas_core::env::Env;
use faas_core::faas_environment::{FaasEnvironment, LocalEnvironment};
use faas_core::pipeline::{ExportClient, ShutdownSignal, Telemetry};
use faas_core::watchdog::WatchdogConfig;
use lambda_runtime::{Diagnostic, LambdaEvent, LambdaInvocation, Runtime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::{BoxError, Layer, Service};

use crate::environment::LambdaEnvironment;
use crate::layer::FaasLayer;
use crate::outcome::OutcomeLayer;

/// The error of the entry points: faas-core's [`ServeError`], the same on every provider
/// (the Lambda runtime's own failures are [`ServeError::Runtime`]).
pub type Error = ServeError;

/// Variables the Lambda runtime needs; checked up front so that a missing one is an error,
/// not `lambda_runtime`'s panic.
const REQUIRED: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

fn check_environment(env: &Env) -> Result<(), Error> {
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|v| !env.contains(v))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ServeError::NotOnPlatform(format!(
            "not running under a Lambda Runtime API: {} unset (run it on Lambda, or locally under \
             `cargo lambda watch`)",
            missing.join(", ")
        )))
    }
}

/// Builds the telemetry of this Lambda function from the process environment: the Lambda
/// environment when detected, a local one otherwise. Does no network I/O.
pub fn telemetry_from_env() -> Result<Telemetry, Error> {
    telemetry_from(&Env::process())
}

fn telemetry_from(env: &Env) -> Result<Telemetry, Error> {
    let environment: Arc<dyn FaasEnvironment> = match LambdaEnvironment::from_env(env) {
        Some(lambda) => Arc::new(lambda),
        None => Arc::new(LocalEnvironment::from_env(env)),
    };
    // The export client sends lambda_runtime's body type: it is then the runtime's own hyper
    // client type, whose code the function links once (45 KB less zip).
    let builder = Telemetry::builder_dyn(environment)
        .with_env(env.clone())
        .with_export_client(ExportClient::with_body::<
            lambda_runtime_api_client::body::Body,
        >());
    Ok(crate::export_auth_env::with_export_auth(builder, env)?.build()?)
}

/// A configurable traced Lambda function; see the [module docs](self).
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
/// use serde_json::Value;
///
/// #[tokio::main]
/// async fn main() -> Result<(), faas_aws::Error> {
///     faas_aws::Server::from_env()
///         .xray_parent(false)
///         .run(service_fn(|event: LambdaEvent<Value>| async move {
///             Ok::<_, lambda_runtime::Error>(event.payload)
///         }))
///         .await
/// }
/// ```
#[must_use]
pub struct Server {
    env: Env,
    telemetry: Option<Telemetry>,
    xray_parent: Option<bool>,
    shutdown: Option<ShutdownSignal>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("xray_parent", &self.xray_parent)
            .field("telemetry", &self.telemetry.is_some())
            .field("shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A function configured by the process environment.
    pub fn from_env() -> Self {
        Self::with_env(Env::process())
    }

    /// A function whose telemetry and layer are configured by `env` instead of the process
    /// environment (the Runtime API client always reads the process's `AWS_LAMBDA_*`
    /// variables, which must be set).
    pub fn with_env(env: Env) -> Self {
        Self {
            env,
            telemetry: None,
            xray_parent: None,
            shutdown: None,
        }
    }

    /// Records into `telemetry` instead of building it from the variables.
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// Whether the invocation's X-Ray header becomes the parent when the event carries no W3C
    /// parent, over `FAAS_OTEL_XRAY_PARENT` ([`FaasLayer::with_xray_parent`]).
    pub fn xray_parent(mut self, enabled: bool) -> Self {
        self.xray_parent = Some(enabled);
        self
    }

    /// Stops taking invocations when `signal` resolves, drains the telemetry and returns,
    /// instead of draining and exiting the process on SIGTERM/SIGINT.
    pub fn shutdown_signal(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Runs a traced `lambda_runtime` handler (any `Service<LambdaEvent<A>>`, e.g.
    /// `service_fn`).
    pub async fn run<F, A, R>(self, handler: F) -> Result<(), Error>
    where
        F: Service<LambdaEvent<A>, Response = R> + Clone + Send + 'static,
        F::Future: Send + 'static,
        F::Error: Display + Debug + Into<Diagnostic> + Send + 'static,
        A: DeserializeOwned + Send + 'static,
        R: Serialize + Send + Sync + 'static,
    {
        let handler = OutcomeLayer.layer(handler);
        self.run_runtime(move || Runtime::new(handler)).await
    }

    /// Runs a traced `lambda_http` service (API Gateway REST and HTTP APIs, ALB, function
    /// URLs).
    #[cfg(feature = "http")]
    pub async fn run_http<S, R>(self, service: S) -> Result<(), Error>
    where
        S: Service<lambda_http::Request, Response = R> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Display + Debug + Into<Diagnostic> + Send + 'static,
        R: lambda_http::IntoResponse + Send + Sync + 'static,
    {
        let service = crate::http_outcome::HttpOutcomeLayer.layer(service);
        self.run_runtime(move || Runtime::new(lambda_http::Adapter::from(service)))
            .await
    }

    /// Serves an axum `Router` as a Lambda HTTP function; see [`crate::serve`].
    #[cfg(feature = "http")]
    pub async fn serve(self, router: axum::Router) -> Result<(), Error> {
        let service = tower::service_fn(move |request: lambda_http::Request| {
            let router = router.clone();
            async move {
                Ok::<_, std::convert::Infallible>(
                    crate::router_adapter::call(router, request).await,
                )
            }
        });
        self.run_http(service).await
    }

    /// The common start: checks the Runtime API variables, builds the telemetry and the
    /// [`FaasLayer`], runs the runtime `make` builds (only once the checks passed: building it
    /// reads the variables) until it fails or the shutdown signal, then drains.
    async fn run_runtime<S, M>(self, make: M) -> Result<(), Error>
    where
        M: FnOnce() -> Runtime<S>,
        S: Service<LambdaInvocation, Response = (), Error = BoxError> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        check_environment(&Env::process())?;
        let telemetry = match self.telemetry {
            Some(telemetry) => telemetry,
            None => telemetry_from(&self.env)?,
        };
        // Correlated log lines and handler spans under the invocation span
        // (`crate::logging`), unless a global `tracing` subscriber is already set: that one is
        // kept (compose `faas_core::logging::Logging::layer` into it).
        let _installed = crate::logging::logging(&self.env)?.try_init(&telemetry);
        let watchdog = WatchdogConfig::from_env(&self.env, telemetry.config().flush_timeout)?;
        let mut layer = FaasLayer::from_env(telemetry.clone(), &self.env).with_watchdog(watchdog);
        if let Some(enabled) = self.xray_parent {
            layer = layer.with_xray_parent(enabled);
        }
        faas_core::panic_hook::install(&telemetry);
        let runtime = make().layer(layer);
        // The runtime's loop asks for the first event (`GET /next`) as soon as it is polled:
        // initialization ends here, the wait for the first event is not part of it.
        telemetry.cold_start().mark_ready();
        let mut serving = crate::worker_task::on_worker(runtime.run_concurrent());
        let result = match self.shutdown {
            None => {
                telemetry.spawn_drain_on_termination();
                serving.await
            }
            Some(signal) => tokio::select! {
                result = &mut serving => result,
                () = signal => {
                    serving.cancel().await;
                    Ok(())
                }
            },
        };
        telemetry.shutdown().await;
        result.map_err(ServeError::Runtime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_runtime_variables_are_a_clear_error() {
        let err = check_environment(&Env::from_pairs([("AWS_LAMBDA_FUNCTION_NAME", "f")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("AWS_LAMBDA_RUNTIME_API"), "{err}");
        assert!(!err.contains("AWS_LAMBDA_FUNCTION_NAME,"), "{err}");
        assert!(matches!(
            check_environment(&Env::from_pairs::<&str, &str>([])),
            Err(ServeError::NotOnPlatform(_))
        ));
    }
}
