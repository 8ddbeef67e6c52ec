//! [`serve`]: run an axum [`Router`] as a traced Azure Functions custom handler.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::environment::LocalEnvironment;
use faas_core::http_server::{FlushPolicy, HttpServerLayer};
use faas_core::pipeline::{Telemetry, terminated};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::describe::{AzureDescriber, INVOCATION_ID_HEADER, InvokeCall};
use crate::environment::AzureFunctionsEnvironment;
use crate::functions::{Binding, Functions};
use crate::protocol::{InvokeRequest, MAX_BODY_BYTES};

/// The variable the Functions host sets to the port it sends requests to.
pub const PORT_VAR: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";
/// The port used when `FUNCTIONS_CUSTOMHANDLER_PORT` is unset (outside a Functions host, e.g.
/// `cargo run`).
pub const DEFAULT_PORT: u16 = 8080;

/// Errors of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The telemetry could not be built (a bad `OTEL_*` or `FAAS_OTEL_*` value).
    #[error(transparent)]
    Telemetry(#[from] faas_core::Error),
    /// A bad `FUNCTIONS_CUSTOMHANDLER_PORT`, or a host.json / function.json that is not JSON.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Binding or serving failed.
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `router` on `127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT` (default 8080) until SIGTERM,
/// tracing every invocation.
///
/// The Functions host connects to the handler on loopback, so the server listens there only.
/// See [`Server`] for the whole behaviour; this is `Server::from_env().serve(router)`.
pub async fn serve(router: Router) -> Result<(), Error> {
    Server::from_env().serve(router).await
}

/// As [`serve`], on a listener the caller bound (tests bind `127.0.0.1:0`).
pub async fn serve_on(listener: TcpListener, router: Router) -> Result<(), Error> {
    Server::from_env().serve_on(listener, router).await
}

/// Builds the telemetry of a custom handler from `env`: the [`AzureFunctionsEnvironment`]
/// when on Azure Functions (`WEBSITE_SITE_NAME` with `FUNCTIONS_WORKER_RUNTIME` or
/// `FUNCTIONS_EXTENSION_VERSION`), a [`LocalEnvironment`] otherwise. No network I/O: everything
/// Azure says about the app is in its variables.
pub async fn build_telemetry(env: &Env) -> Result<Telemetry, Error> {
    let builder = match AzureFunctionsEnvironment::from_env(env) {
        Some(azure) => Telemetry::builder(azure),
        None => Telemetry::builder(LocalEnvironment::from_env(env)),
    };
    Ok(builder.with_env(env.clone()).build()?)
}

/// The [`HttpServerLayer`] for a custom handler with `functions`: the [`AzureDescriber`]
/// (`faas.name` = `<app>/<function>`, the function's `cloud.resource_id`, the trigger from its
/// binding).
pub fn layer(telemetry: &Telemetry, env: &Env, functions: Arc<Functions>) -> HttpServerLayer {
    let azure = AzureFunctionsEnvironment::from_env(env);
    let app = azure.as_ref().map_or_else(
        || telemetry.environment().function_name().to_owned(),
        |a| a.app_name.clone(),
    );
    let describer = AzureDescriber::new(
        app,
        azure,
        functions,
        env.clone(),
        telemetry.config().propagation.clone(),
    );
    HttpServerLayer::new(telemetry.clone()).with_describer(move |parts| describer.describe(parts))
}

/// The port from `FUNCTIONS_CUSTOMHANDLER_PORT`, default [`DEFAULT_PORT`] when unset.
pub fn port(env: &Env) -> Result<u16, ConfigError> {
    match env.get(PORT_VAR) {
        None => Ok(DEFAULT_PORT),
        Some(value) => value.trim().parse().map_err(|_| {
            ConfigError::new(
                PORT_VAR,
                value,
                "expected a TCP port, 0 to 65535 (the Functions host sets it)",
            )
        }),
    }
}

type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A configurable [`serve`].
///
/// At start-up it reads the app's functions ([`Functions::load`]: `host.json` and
/// `<name>/function.json` under `AzureWebJobsScriptRoot`, else the working directory, which is
/// where the host starts the handler), plus those declared with [`Server::function`]. Then, for
/// every request:
///
/// * `POST /<name>` for a known function that is not a forwarded HTTP function is an
///   **invoke-protocol** call: its body is parsed into an [`InvokeRequest`] before the handler
///   runs (the handler reads the same value with the `InvokeRequest` extractor) and the span is
///   described by the function's trigger binding (see [`crate::describe`]);
/// * anything else is a **forwarded HTTP** request (`GET /api/hello`), described by the HTTP
///   server conventions with axum's matched route;
/// * under a Functions host (`FUNCTIONS_CUSTOMHANDLER_PORT` set), a request without
///   `X-Azure-Functions-InvocationId` is not an invocation (the host's readiness pings are
///   `GET /`): it is served untraced, so it neither takes the cold start nor costs a flush.
///
/// The [`HttpServerLayer`] (see [`layer`]) traces each invocation and flushes **before** the
/// response by default ([`FlushPolicy::BeforeResponse`]: on the Consumption plans the host may
/// freeze or scale in the instance once the invocation is answered). On the shutdown signal
/// (SIGTERM/SIGINT by default) the server stops accepting, finishes the requests in flight and
/// drains the telemetry within `FAAS_OTEL_SHUTDOWN_TIMEOUT_MS`.
#[must_use]
pub struct Server {
    env: Env,
    telemetry: Option<Telemetry>,
    shutdown: Option<Shutdown>,
    flush_policy: FlushPolicy,
    app_root: Option<PathBuf>,
    declared: Vec<(String, Binding)>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("flush_policy", &self.flush_policy)
            .field("app_root", &self.app_root)
            .field("declared", &self.declared)
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
            app_root: None,
            declared: Vec::new(),
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

    /// Reads host.json and the function.json files under `root` instead of
    /// `AzureWebJobsScriptRoot` / the working directory.
    pub fn app_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.app_root = Some(root.into());
        self
    }

    /// Declares function `name` with its trigger binding, over what its function.json says
    /// (for apps whose function.json files are not beside the handler, or tests):
    /// `Server::from_env().function("orders", Binding::queue("order", "orders"))`.
    pub fn function(mut self, name: impl Into<String>, trigger: Binding) -> Self {
        self.declared.push((name.into(), trigger));
        self
    }

    /// Binds `127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT` and serves `router`.
    pub async fn serve(self, router: Router) -> Result<(), Error> {
        let port = port(&self.env)?;
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        self.serve_on(listener, router).await
    }

    /// Serves `router` on `listener` until the shutdown signal, then drains the telemetry.
    pub async fn serve_on(self, listener: TcpListener, router: Router) -> Result<(), Error> {
        let root = self
            .app_root
            .clone()
            .unwrap_or_else(|| Functions::app_root(&self.env));
        let mut functions = Functions::load(&root)?;
        for (name, binding) in self.declared {
            functions.insert(name, binding);
        }
        let functions = Arc::new(functions);
        let telemetry = match self.telemetry {
            Some(telemetry) => telemetry,
            None => build_telemetry(&self.env).await?,
        };
        telemetry.cold_start().mark_phase("ready");
        let routing = Arc::new(Routing {
            functions: functions.clone(),
            under_host: self.env.contains(PORT_VAR),
            untraced: router.clone(),
        });
        let app = router
            .layer(layer(&telemetry, &self.env, functions).with_flush_policy(self.flush_policy))
            .layer(axum::middleware::from_fn_with_state(routing, route_request));
        let shutdown = self.shutdown.unwrap_or_else(|| Box::pin(terminated()));
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        let _report = telemetry.shutdown().await;
        Ok(served?)
    }
}

struct Routing {
    functions: Arc<Functions>,
    under_host: bool,
    untraced: Router,
}

/// Sorts a request before the tracing layer: host pings go to the untraced router;
/// invoke-protocol calls get their body parsed into an [`InvokeCall`].
async fn route_request(
    State(routing): State<Arc<Routing>>,
    request: Request,
    next: Next,
) -> Response {
    if routing.under_host && !request.headers().contains_key(INVOCATION_ID_HEADER) {
        return match routing.untraced.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    let Some(function) = routing
        .functions
        .invoked(request.method(), request.uri().path())
        .cloned()
    else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let parsed = InvokeRequest::from_slice(&bytes).ok().map(Arc::new);
    parts.extensions.insert(InvokeCall {
        function: Arc::new(function),
        request: parsed,
    });
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn port_defaults_outside_a_host_and_rejects_garbage() {
        assert_eq!(port(&Env::from_pairs::<&str, &str>([])).unwrap(), 8080);
        assert_eq!(
            port(&Env::from_pairs([(
                "FUNCTIONS_CUSTOMHANDLER_PORT",
                "40123"
            )]))
            .unwrap(),
            40123
        );
        for bad in ["http", "70000", "-1", "80 80"] {
            let err = port(&Env::from_pairs([("FUNCTIONS_CUSTOMHANDLER_PORT", bad)])).unwrap_err();
            assert_eq!(
                (err.variable.as_str(), err.value.as_str()),
                ("FUNCTIONS_CUSTOMHANDLER_PORT", bad)
            );
        }
    }
}
