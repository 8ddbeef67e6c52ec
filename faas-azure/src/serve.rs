//! [`serve`]: run an axum [`Router`] as a traced Azure Functions custom handler.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use faas_core::ServeError;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::http_server::{FlushPolicy, HttpServerLayer, ServerOptions};
use faas_core::pipeline::Telemetry;
use faas_core::watchdog::WatchdogConfig;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::environment::AzureFunctionsEnvironment;
use crate::functions::{Binding, Functions};
use crate::invoke_call::InvokeCall;
use crate::protocol::{InvokeRequest, MAX_BODY_BYTES};
use crate::triggers::{AzureDescriber, INVOCATION_ID_HEADER};

/// The variable the Functions host sets to the port it sends requests to.
pub const PORT_VAR: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";
/// The port used when `FUNCTIONS_CUSTOMHANDLER_PORT` is unset (outside a Functions host, e.g.
/// `cargo run`).
pub const DEFAULT_PORT: u16 = 8080;

/// The error of [`serve`]: faas-core's [`ServeError`], the same on every provider.
pub type Error = ServeError;

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
/// binding, the telemetry's privacy lists).
pub fn layer(telemetry: &Telemetry, env: &Env, functions: Arc<Functions>) -> HttpServerLayer {
    let azure = AzureFunctionsEnvironment::from_env(env);
    let app = azure.as_ref().map_or_else(
        || telemetry.environment().function_name().to_owned(),
        |a| a.app_name.clone(),
    );
    let config = telemetry.config();
    let describer = AzureDescriber::new(
        app,
        azure,
        functions,
        env.clone(),
        config.propagation.clone(),
    )
    .with_privacy(config.http_privacy.clone());
    let watchdog = WatchdogConfig::from_env_or_default(env, config.flush_timeout);
    HttpServerLayer::new(telemetry.clone())
        .with_describer(move |parts| describer.describe(parts))
        .with_watchdog(watchdog)
}

/// `router` as the Functions host calls it: forwarded HTTP requests arrive under the route
/// prefix (host.json `extensions.http.routePrefix`, `api` by default), so the router's
/// `/hello` is served at `/api/hello` (and `http.route` is `/api/hello`); any other path
/// (invoke-protocol calls `POST /<function>`, routes already registered with the prefix) is
/// handed to the router as it is. An empty prefix, or one axum cannot nest under (`{`, `}`,
/// `*`, empty segments, a segment starting with `:`), leaves the router unchanged.
pub fn with_route_prefix(router: Router, prefix: &str) -> Router {
    let prefix = prefix.trim_matches('/');
    // What axum's `nest` would panic on: captures, wildcards, empty segments and segments
    // starting with `:` (axum 0.7 capture syntax).
    let nestable = !prefix.is_empty()
        && !prefix.contains(['{', '}', '*'])
        && prefix
            .split('/')
            .all(|segment| !segment.is_empty() && !segment.starts_with(':'));
    if !nestable {
        return router;
    }
    Router::new()
        .nest(&format!("/{prefix}"), router.clone())
        .fallback_service(router)
}

/// A configurable [`serve`].
///
/// At start-up it reads the app's functions ([`Functions::load`]: `host.json` and
/// `<name>/function.json` under `AzureWebJobsScriptRoot`, else the working directory, which is
/// where the host starts the handler), plus those declared with [`Server::function`], and
/// serves the router under the HTTP route prefix ([`with_route_prefix`]). Then, for every
/// request:
///
/// * `POST /<name>` for a known function that is not a forwarded HTTP function is an
///   **invoke-protocol** call: its body is parsed into an [`InvokeRequest`] before the handler
///   runs (the handler reads the same value with the `InvokeRequest` extractor) and the span is
///   described by the function's trigger binding (see [`crate::triggers`]);
/// * anything else is a **forwarded HTTP** request (`GET /api/hello`, served by the router's
///   `/hello`), described by the HTTP server conventions with axum's matched route;
/// * under a Functions host (`FUNCTIONS_CUSTOMHANDLER_PORT` set), a request without
///   `X-Azure-Functions-InvocationId` is not an invocation (the host's readiness pings are
///   `GET /`): it is served untraced, so it neither takes the cold start nor costs a flush.
///
/// The [`HttpServerLayer`] (see [`layer`]) traces each invocation and flushes **before** the
/// response by default ([`FlushPolicy::BeforeResponse`]: on the Consumption plans the host may
/// freeze or scale in the instance once the invocation is answered). On the shutdown signal
/// (SIGTERM/SIGINT by default) the server stops accepting, finishes the requests in flight
/// (abandoning those still running after `FAAS_OTEL_SHUTDOWN_GRACE_MS`, default 5000) and
/// drains the telemetry within `FAAS_OTEL_SHUTDOWN_TIMEOUT_MS`.
#[derive(Debug)]
#[must_use]
pub struct Server {
    options: ServerOptions,
    app_root: Option<PathBuf>,
    declared: Vec<(String, Binding)>,
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
            app_root: None,
            declared: Vec::new(),
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
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let listener = self.options.bind(loopback, PORT_VAR, DEFAULT_PORT).await?;
        self.serve_on(listener, router).await
    }

    /// Serves `router` on `listener` until the shutdown signal, then drains the telemetry.
    pub async fn serve_on(self, listener: TcpListener, router: Router) -> Result<(), Error> {
        let env = self.options.env();
        let logging = crate::logging::logging(env)?;
        let root = self
            .app_root
            .clone()
            .unwrap_or_else(|| Functions::app_root(env));
        let mut functions = Functions::load(&root)?;
        for (name, binding) in self.declared {
            functions.insert(name, binding);
        }
        let functions = Arc::new(functions);
        let prefix = functions.route_prefix().to_owned();
        let routing = Arc::new(Routing {
            functions: functions.clone(),
            under_host: env.contains(PORT_VAR),
            untraced: with_route_prefix(router.clone(), &prefix),
        });
        // Traced inside the prefix, so the layer sees the matched route (`/api/hello`) whether
        // the request came through the prefix or went to the router as it is.
        let app = |telemetry: &Telemetry, env: &Env, policy: FlushPolicy| {
            // JSON lines with the invocation id (`crate::logging`), unless a global `tracing`
            // subscriber is already set (that one is kept).
            let _installed = logging.try_init(telemetry);
            let traced = router
                .layer(layer(telemetry, env, functions).with_flush_policy(policy))
                .layer(axum::middleware::from_fn(restore_uri));
            with_route_prefix(traced, &prefix)
                .layer(axum::middleware::from_fn_with_state(routing, route_request))
        };
        self.options.serve_on(listener, build_telemetry, app).await
    }
}

/// The URI as the host sent it, before axum's nesting stripped the route prefix.
#[derive(Clone)]
struct ReceivedUri(http::Uri);

/// Puts the received URI back before the tracing layer, so `url.path` and the function
/// lookup see `/api/hello`, not the nested router's `/hello` (routing is already done).
async fn restore_uri(mut request: Request, next: Next) -> Response {
    if let Some(ReceivedUri(uri)) = request.extensions_mut().remove::<ReceivedUri>() {
        *request.uri_mut() = uri;
    }
    next.run(request).await
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
    let mut request = request;
    let uri = ReceivedUri(request.uri().clone());
    request.extensions_mut().insert(uri);
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
    use axum::extract::MatchedPath;
    use axum::routing::{get, post};
    use faas_core::http_server::port_from_env;

    use super::*;

    #[test]
    fn port_defaults_outside_a_host_and_rejects_garbage() {
        let port = |pairs: &[(&str, &str)]| {
            port_from_env(
                &Env::from_pairs(pairs.iter().copied()),
                PORT_VAR,
                DEFAULT_PORT,
            )
        };
        assert_eq!(port(&[]).unwrap(), 8080);
        assert_eq!(
            port(&[("FUNCTIONS_CUSTOMHANDLER_PORT", "40123")]).unwrap(),
            40123
        );
        for bad in ["http", "70000", "-1", "80 80"] {
            let err = port(&[("FUNCTIONS_CUSTOMHANDLER_PORT", bad)]).unwrap_err();
            assert_eq!(
                (err.variable.as_str(), err.value.as_str()),
                ("FUNCTIONS_CUSTOMHANDLER_PORT", bad)
            );
        }
    }

    /// What `path` answers: the status and the matched route the handler saw.
    async fn call(router: &Router, method: http::Method, path: &str) -> (u16, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_route_prefix_is_added_by_the_server_not_the_router() {
        let matched = |path: MatchedPath| async move { path.as_str().to_owned() };
        let user = Router::new()
            .route("/hello", get(matched))
            .route("/items/{id}", get(matched))
            .route("/orders", post(matched))
            .route("/api/legacy", get(matched));
        let api = with_route_prefix(user.clone(), "api");
        let get = http::Method::GET;
        assert_eq!(
            call(&api, get.clone(), "/api/hello").await,
            (200, "/api/hello".into())
        );
        assert_eq!(
            call(&api, get.clone(), "/api/items/7").await,
            (200, "/api/items/{id}".into())
        );
        // Invoke-protocol calls and routes that already carry the prefix reach the router.
        assert_eq!(
            call(&api, http::Method::POST, "/orders").await,
            (200, "/orders".into())
        );
        assert_eq!(
            call(&api, get.clone(), "/api/legacy").await,
            (200, "/api/legacy".into())
        );
        assert_eq!(call(&api, get.clone(), "/api/missing").await.0, 404);

        let nested = with_route_prefix(user.clone(), "/v1/fn/");
        assert_eq!(
            call(&nested, get.clone(), "/v1/fn/hello").await,
            (200, "/v1/fn/hello".into())
        );
        // An empty prefix (host.json `"routePrefix": ""`) and one axum cannot nest under
        // leave the router as it is, without a panic.
        for prefix in ["", "/", "{x}", "a//b", "*rest", ":id"] {
            let same = with_route_prefix(user.clone(), prefix);
            assert_eq!(
                call(&same, get.clone(), "/hello").await,
                (200, "/hello".into()),
                "{prefix:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_route_prefix_is_served_or_ignored_without_a_panic(prefix in "[ -~]{0,12}") {
            let router = Router::new().route("/hello", get(|| async { "hello" }));
            let _ = with_route_prefix(router, &prefix);
        }
    }
}
