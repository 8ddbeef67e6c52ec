//! Google-authenticated OTLP (`FAAS_OTEL_AUTH=google`), to export straight to Cloud Trace at
//! `https://telemetry.googleapis.com` (`/v1/traces`, `/v1/logs`, `/v1/metrics`).
//!
//! [`GoogleAuth`] adds `Authorization: Bearer <token>` to every export request, plus
//! `x-goog-user-project: <project>` when `FAAS_OTEL_AUTH_QUOTA_PROJECT` names the project
//! billed for the requests. The token is the instance's service-account token from the
//! metadata server (`instance/service-accounts/default/token`, `Metadata-Flavor: Google`, host
//! `GCE_METADATA_HOST` or `metadata.google.internal`), cached until [`EXPIRY_MARGIN`] before
//! it expires.
//!
//! What it costs, and when:
//! * at start-up, one fetch bounded by [`FETCH_BOUND`];
//! * while the token has more than [`REFRESH_AHEAD`] left, nothing: the cached header is used;
//! * inside the refresh-ahead window, a refresh in the background (a tokio task; the export
//!   does not wait for it);
//! * only when there is no usable token and the last fetch succeeded does an export wait for
//!   a fetch, bounded by [`FETCH_BOUND`] (and by the flush budget) — after a long idle period;
//! * after a failed fetch (a slow or absent server), exports are refused at once with the
//!   error, and the fetch is retried in the background at most every [`RETRY_INTERVAL`]: a
//!   broken metadata server costs one bound once, never time per invocation. The failure and
//!   the recovery are each reported once on stderr; the token never is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::faas_environment::BoxFuture;
use faas_core::pipeline::{ExportAuth, ExportAuthError, TelemetryBuilder};
use http::{HeaderValue, Request};

use crate::metadata::{base_url, metadata_host};

/// The setting: `none` (default) or `google`.
pub const AUTH_VAR: &str = "FAAS_OTEL_AUTH";
/// The quota project sent as `x-goog-user-project` (default: none, the service account's own).
pub const QUOTA_PROJECT_VAR: &str = "FAAS_OTEL_AUTH_QUOTA_PROJECT";
/// The metadata path of the default service account's access token.
pub const TOKEN_PATH: &str = "instance/service-accounts/default/token";
/// The longest one token fetch waits (the real server answers in milliseconds).
pub const FETCH_BOUND: Duration = Duration::from_millis(1000);
/// A token is not used in its last 30 s (a request must arrive before it expires).
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// A token with less than 5 min left is refreshed in the background.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(300);
/// After a failed fetch, the background retries at most this often.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(30);

/// How the token is kept fresh (tests shorten them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// [`FETCH_BOUND`].
    pub fetch_bound: Duration,
    /// [`EXPIRY_MARGIN`].
    pub expiry_margin: Duration,
    /// [`REFRESH_AHEAD`].
    pub refresh_ahead: Duration,
    /// [`RETRY_INTERVAL`].
    pub retry_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            fetch_bound: FETCH_BOUND,
            expiry_margin: EXPIRY_MARGIN,
            refresh_ahead: REFRESH_AHEAD,
            retry_interval: RETRY_INTERVAL,
        }
    }
}

/// A cached `Authorization` header and when its token expires.
struct Cached {
    header: HeaderValue,
    expires: Instant,
}

#[derive(Default)]
struct State {
    token: Option<Cached>,
    /// Why the last fetch failed, and when; `None` while fetches succeed.
    failure: Option<(String, Instant)>,
}

struct Inner {
    url: String,
    client: reqwest::Client,
    quota_project: Option<HeaderValue>,
    timing: Timing,
    state: std::sync::Mutex<State>,
    /// Held by the one fetch in flight.
    fetching: tokio::sync::Mutex<()>,
    background: AtomicBool,
    fetches: AtomicU64,
}

/// Authorizes OTLP requests with the instance's Google access token; see the
/// [module docs](self). Cheap to clone. `Debug` shows no token.
#[derive(Clone)]
pub struct GoogleAuth {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GoogleAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleAuth")
            .field("metadata", &self.inner.url)
            .field("quota_project", &self.inner.quota_project)
            .field("token", &"** redacted **")
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

impl GoogleAuth {
    /// Fetches from the metadata server at `host` (`host[:port]` or a URL), sending
    /// `quota_project` as `x-goog-user-project` when given.
    pub fn new(
        host: &str,
        quota_project: Option<&str>,
        timing: Timing,
    ) -> Result<Self, ConfigError> {
        let quota_project = match quota_project {
            Some(p) => Some(
                HeaderValue::from_str(p)
                    .map_err(|_| ConfigError::new(QUOTA_PROJECT_VAR, p, "expected a project id"))?,
            ),
            None => None,
        };
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(timing.fetch_bound)
            .connect_timeout(timing.fetch_bound)
            .build()
            .map_err(|e| ConfigError::new(AUTH_VAR, "google", format!("HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                url: format!("{}/{TOKEN_PATH}", base_url(host)),
                client,
                quota_project,
                timing,
                state: std::sync::Mutex::new(State::default()),
                fetching: tokio::sync::Mutex::new(()),
                background: AtomicBool::new(false),
                fetches: AtomicU64::new(0),
            }),
        })
    }

    /// From `env`: `GCE_METADATA_HOST` and [`QUOTA_PROJECT_VAR`].
    pub fn from_env(env: &Env, timing: Timing) -> Result<Self, ConfigError> {
        let quota = env
            .get(QUOTA_PROJECT_VAR)
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        Self::new(&metadata_host(env), quota.as_deref(), timing)
    }

    /// Fetches the first token, waiting at most the fetch bound; a failure is kept (exports
    /// are then refused at once and the fetch is retried in the background).
    pub async fn prefetch(&self) -> Result<(), ExportAuthError> {
        self.inner.clone().refresh().await
    }

    /// How many token fetches were started.
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached header if usable now, and whether it should be refreshed ahead.
    fn cached(&self, now: Instant) -> Option<(HeaderValue, bool)> {
        let state = self.lock();
        let token = state.token.as_ref()?;
        let left = token.expires.saturating_duration_since(now);
        (left > self.timing.expiry_margin)
            .then(|| (token.header.clone(), left <= self.timing.refresh_ahead))
    }

    /// One fetch (or none, when another one just got a fresh token), bounded.
    async fn refresh(self: Arc<Self>) -> Result<(), ExportAuthError> {
        let _one = self.fetching.lock().await;
        if let Some((_, false)) = self.cached(Instant::now()) {
            return Ok(());
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let fetched = tokio::time::timeout(self.timing.fetch_bound, self.fetch())
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "timed out after {} ms",
                    self.timing.fetch_bound.as_millis()
                ))
            });
        let mut state = self.lock();
        match fetched {
            Ok((header, lifetime)) => {
                if state.failure.take().is_some() {
                    eprintln!(
                        "faas-gcp: Google access token available again from {}",
                        self.url
                    );
                }
                state.token = Some(Cached {
                    header,
                    expires: started.checked_add(lifetime).unwrap_or(started),
                });
                Ok(())
            }
            Err(why) => {
                let message = format!(
                    "no Google access token for the OTLP export (FAAS_OTEL_AUTH=google): the \
                     metadata server at {} {why}; exports are refused until it answers \
                     (retried in the background)",
                    self.url
                );
                if state.failure.is_none() {
                    eprintln!("faas-gcp: {message}");
                }
                state.failure = Some((message.clone(), Instant::now()));
                Err(ExportAuthError(message))
            }
        }
    }

    /// `GET` the token: the `Authorization` header and the token's lifetime. Errors name what
    /// went wrong, never the token.
    async fn fetch(&self) -> Result<(HeaderValue, Duration), String> {
        let response = self
            .client
            .get(&self.url)
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("timed out after {} ms", self.timing.fetch_bound.as_millis())
                } else {
                    format!("could not be reached ({})", e.without_url())
                }
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("answered {status}"));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("answer unreadable ({})", e.without_url()))?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| "answered something that is not a token".to_owned())?;
        let mut header = HeaderValue::from_str(&format!("Bearer {}", answer.access_token))
            .map_err(|_| "answered a token that is not a header value".to_owned())?;
        header.set_sensitive(true);
        Ok((header, Duration::from_secs(answer.expires_in)))
    }

    /// Starts one background refresh (at most one at a time; none without a tokio runtime).
    fn refresh_in_background(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.clone();
        runtime.spawn(async move {
            let _ = inner.clone().refresh().await;
            inner.background.store(false, Ordering::Release);
        });
    }

    async fn header(self: Arc<Self>) -> Result<HeaderValue, ExportAuthError> {
        let now = Instant::now();
        if let Some((header, ahead)) = self.cached(now) {
            if ahead {
                self.refresh_in_background();
            }
            return Ok(header);
        }
        let failure = self.lock().failure.clone();
        if let Some((message, at)) = failure {
            if now.saturating_duration_since(at) >= self.timing.retry_interval {
                self.refresh_in_background();
            }
            return Err(ExportAuthError(message));
        }
        // The last fetch worked and the token ran out (a long idle): one bounded fetch.
        self.clone().refresh().await?;
        self.cached(Instant::now())
            .map(|(header, _)| header)
            .ok_or_else(|| ExportAuthError("the metadata server's token expires at once".into()))
    }
}

impl ExportAuth for GoogleAuth {
    fn authorize<'a>(
        &'a self,
        request: &'a mut Request<Bytes>,
    ) -> BoxFuture<'a, Result<(), ExportAuthError>> {
        Box::pin(async move {
            let header = self.inner.clone().header().await?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, header);
            if let Some(project) = &self.inner.quota_project {
                request
                    .headers_mut()
                    .insert("x-goog-user-project", project.clone());
            }
            Ok(())
        })
    }
}

/// Whether `FAAS_OTEL_AUTH` asks for Google auth (`google`; `none` or unset does not).
pub fn wants_google(env: &Env) -> Result<bool, ConfigError> {
    match env.get(AUTH_VAR) {
        None => Ok(false),
        Some(value) => match value.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(false),
            "google" => Ok(true),
            _ => Err(ConfigError::new(
                AUTH_VAR,
                value,
                "expected one of none, google",
            )),
        },
    }
}

/// `builder`, authorizing its exports as `FAAS_OTEL_AUTH` says; with `google` the first
/// token is fetched now, within [`FETCH_BOUND`] (a failure is reported, not fatal).
/// (`env` is taken by value: a future holding a borrowed `Env` is not `Send` enough for the
/// servers' higher-ranked start-up closures.)
pub async fn with_google_auth(
    builder: TelemetryBuilder,
    env: Env,
) -> Result<TelemetryBuilder, ConfigError> {
    if !wants_google(&env)? {
        return Ok(builder);
    }
    let config = faas_core::config::TelemetryConfig::from_env(&env)?;
    if [config.traces_protocol, config.metrics_protocol]
        .contains(&faas_core::config::Protocol::Grpc)
    {
        return Err(ConfigError::new(
            AUTH_VAR,
            "google",
            "the token is added to OTLP/HTTP requests only: set OTEL_EXPORTER_OTLP_PROTOCOL to \
             http/protobuf or http/json",
        ));
    }
    let auth = GoogleAuth::from_env(&env, Timing::default())?;
    let _first = auth.prefetch().await;
    Ok(builder.with_export_auth(Arc::new(auth)))
}
