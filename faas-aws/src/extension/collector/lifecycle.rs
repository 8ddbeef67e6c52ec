//! The extension's life: start listening, register, subscribe to the Telemetry API, then for
//! every INVOKE export after the function answered and before asking for the next event, and
//! drain at SHUTDOWN.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faas_core::ConfigError;
use faas_core::env::Env;
use http::Method;
use lambda_extension::{Extension, LambdaEvent, NextEvent, service_fn};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};
use tokio::net::TcpListener;

use super::config::ExtensionConfig;
use super::forwarder::Forwarder;
use super::state::{Shared, lock};
use super::{receiver, telemetry_listener};
use crate::extension::keep::KeepRules;
use crate::extension::platform_telemetry::PlatformTelemetry;

/// The error type of [`run`].
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Time kept back from the platform's deadlines.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);
/// The window over which the invocation rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// When to export: after every invocation, or at most every interval when invocations come
/// fast (with hysteresis: on above the threshold, off below half of it).
#[derive(Debug)]
struct ExportPace {
    recent: VecDeque<Instant>,
    periodic: bool,
    last_export: Option<Instant>,
}

impl ExportPace {
    fn invoked(&mut self, now: Instant, threshold: f64) {
        self.recent.push_back(now);
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        let rate = self.recent.len() as f64 / RATE_WINDOW.as_secs_f64();
        if !self.periodic && rate > threshold {
            self.periodic = true;
            eprintln!("faas-otel-extension: {rate:.1} invocations/s: exporting periodically");
        } else if self.periodic && rate < threshold / 2.0 {
            self.periodic = false;
            eprintln!(
                "faas-otel-extension: {rate:.1} invocations/s: exporting after every invocation"
            );
        }
    }

    fn due(&self, now: Instant, interval: Duration) -> bool {
        !self.periodic
            || self
                .last_export
                .is_none_or(|last| now.duration_since(last) >= interval)
    }
}

/// The platform deadline as an [`Instant`], or `None` when it is not plausible (in the past,
/// as emulators send, or more than a day ahead).
fn deadline_of(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    let ahead = deadline_ms.checked_sub(now_ms)?;
    (ahead <= 86_400_000).then(|| Instant::now() + Duration::from_millis(ahead))
}

/// Runs the extension configured by `env` until SHUTDOWN.
pub async fn run(env: Env) -> Result<(), Error> {
    // The Lambda API clients read this variable themselves and panic without it.
    if env
        .get("AWS_LAMBDA_RUNTIME_API")
        .is_none_or(|v| v.trim().is_empty())
    {
        return Err(faas_core::Error::from(ConfigError::new(
            "AWS_LAMBDA_RUNTIME_API",
            "",
            "set by Lambda for every extension; faas-otel-extension only runs as a Lambda extension (or under an emulator that sets it)",
        ))
        .into());
    }
    let settings = ExtensionConfig::from_env(&env)
        .map_err(faas_core::Error::from)
        .and_then(|config| {
            Ok((
                config,
                PlatformTelemetry::from_env(&env)?,
                KeepRules::from_env(&env)?,
            ))
        });
    let (config, platform, keep) = match settings {
        Ok(settings) => settings,
        Err(error) => {
            // Register so the platform hears why, then report the init error.
            let registered = Extension::new()
                .with_events(&["INVOKE", "SHUTDOWN"])
                .register()
                .await?;
            report_init_error(&registered.extension_id, &error.to_string()).await;
            return Err(error.into());
        }
    };
    let shared = Arc::new(Shared::new(config, platform, keep));

    // Listen before registering: the function may flush as soon as it runs.
    let otlp = TcpListener::bind(shared.config.listen).await?;
    let telemetry = TcpListener::bind(shared.config.telemetry_listen.0).await?;
    let telemetry_port = telemetry.local_addr()?.port();
    tokio::spawn(serve(otlp, receiver::router(shared.clone())));
    #[cfg(feature = "extension-grpc")]
    super::grpc_receiver::serve(shared.clone(), shared.config.grpc_listen).await?;
    tokio::spawn(serve(telemetry, telemetry_listener::router(shared.clone())));

    let forwarder = Arc::new(Forwarder::new());
    let pace = Arc::new(Mutex::new(ExportPace {
        recent: VecDeque::new(),
        periodic: false,
        last_export: None,
    }));
    tokio::spawn(periodic_exporter(
        shared.clone(),
        forwarder.clone(),
        pace.clone(),
    ));
    let drained = Arc::new(tokio::sync::Notify::new());
    let processor = {
        let shared = shared.clone();
        let drained = drained.clone();
        service_fn(move |event: LambdaEvent| {
            let (shared, forwarder, pace) = (shared.clone(), forwarder.clone(), pace.clone());
            let drained = drained.clone();
            async move {
                match event.next {
                    NextEvent::Invoke(invoke) => {
                        on_invoke(
                            &shared,
                            &forwarder,
                            &pace,
                            &invoke.request_id,
                            invoke.deadline_ms,
                        )
                        .await
                    }
                    NextEvent::Shutdown(shutdown) => {
                        on_shutdown(&shared, &forwarder, shutdown.deadline_ms).await;
                        // Nothing follows SHUTDOWN: end instead of asking for another event.
                        drained.notify_one();
                    }
                }
                Ok::<(), Error>(())
            }
        })
    };
    let registered = Extension::new()
        .with_events(&["INVOKE", "SHUTDOWN"])
        .with_events_processor(processor)
        .register()
        .await?;
    let host = &shared.config.telemetry_listen.1;
    if let Err(error) = subscribe(&registered.extension_id, host, telemetry_port).await {
        // Without platform events the extension still forwards; say why they are missing.
        eprintln!("faas-otel-extension: Telemetry API subscription failed: {error}");
    }
    tokio::select! {
        ended = registered.run() => ended,
        () = drained.notified() => Ok(()),
    }
}

async fn serve(listener: TcpListener, router: axum::Router) {
    if let Err(error) = axum::serve(listener, router).await {
        eprintln!("faas-otel-extension: listener stopped: {error}");
    }
}

/// Subscribes to the platform events, delivered to `http://host:port`.
async fn subscribe(extension_id: &str, host: &str, port: u16) -> Result<(), Error> {
    let body = serde_json::json!({
        "schemaVersion": "2022-12-13",
        "types": ["platform"],
        "buffering": { "maxItems": 1000, "maxBytes": 262_144, "timeoutMs": 25 },
        "destination": { "protocol": "HTTP", "URI": format!("http://{host}:{port}") },
    });
    let request = build_request()
        .method(Method::PUT)
        .uri("/2022-07-01/telemetry")
        .header("Lambda-Extension-Identifier", extension_id)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))?;
    let response = Client::builder().build()?.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("the Telemetry API answered {}", response.status()).into());
    }
    Ok(())
}

async fn report_init_error(extension_id: &str, message: &str) {
    eprintln!("faas-otel-extension: {message}");
    let body = serde_json::json!({ "errorMessage": message, "errorType": "Extension.ConfigError" });
    let request = build_request()
        .method(Method::POST)
        .uri("/2020-01-01/extension/init/error")
        .header("Lambda-Extension-Identifier", extension_id)
        .header(
            "Lambda-Extension-Function-Error-Type",
            "Extension.ConfigError",
        )
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()));
    if let (Ok(request), Ok(client)) = (request, Client::builder().build()) {
        let _ = client.call(request).await;
    }
}

/// In periodic mode (high invocation rates, so the environment is not frozen between
/// invocations) exports in the background whenever the interval is due or a quarter of the
/// memory cap is in use; after every invocation otherwise (see [`on_invoke`]).
async fn periodic_exporter(
    shared: Arc<Shared>,
    forwarder: Arc<Forwarder>,
    pace: Arc<Mutex<ExportPace>>,
) {
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = Instant::now();
        let held = lock(&shared.buffer).bytes();
        let go = {
            let pace = lock(&pace);
            pace.periodic
                && held > 0
                && (held >= shared.config.memory_limit / 4
                    || pace.due(now, shared.config.export_interval))
        };
        if go {
            forwarder
                .export(&shared, now + shared.config.export_timeout)
                .await;
            lock(&pace).last_export = Some(Instant::now());
        }
    }
}

/// Waits until the function's data for `request_id` arrived, at most until `until`.
///
/// With the keep rules on, only `platform.runtimeDone` ends the wait early: the rules need the
/// invocation's outcome (error, timeout), and the runtime is done after the function flushed.
async fn wait_for_invocation(shared: &Shared, request_id: &str, until: Instant) {
    let need_outcome = lock(&shared.keep).is_enabled();
    loop {
        let notified = shared.arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let arrived = if need_outcome {
            lock(&shared.runtime_done).contains(request_id)
        } else {
            shared.invocation_arrived(request_id)
        };
        if arrived {
            return;
        }
        let now = Instant::now();
        if now >= until || tokio::time::timeout(until - now, notified).await.is_err() {
            return;
        }
    }
}

/// Moves the platform spans and metrics into the buffer and applies the keep rules.
fn prepare(shared: &Shared) {
    let (spans, metrics) = {
        let mut platform = lock(&shared.platform);
        (platform.take_spans(), platform.take_metrics())
    };
    let mut buffer = lock(&shared.buffer);
    if let Some(spans) = spans {
        buffer.push_traces(spans);
    }
    if let Some(metrics) = metrics {
        buffer.push_metrics(metrics);
    }
    let mut keep = lock(&shared.keep);
    if keep.is_enabled() && !buffer.traces.is_empty() {
        let mut merged =
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::default();
        let taken = buffer.take();
        for request in taken.traces {
            merged.resource_spans.extend(request.resource_spans);
        }
        let platform = lock(&shared.platform);
        let outcome_of = |id: &str| platform.outcome(id);
        let (kept, _stats) = keep.filter(merged, &outcome_of, SystemTime::now());
        buffer.push_traces(kept);
        for request in taken.metrics {
            buffer.push_metrics(request);
        }
        for request in taken.logs {
            buffer.push_logs(request);
        }
    }
}

async fn on_invoke(
    shared: &Shared,
    forwarder: &Forwarder,
    pace: &Mutex<ExportPace>,
    request_id: &str,
    deadline_ms: u64,
) {
    let config = &shared.config;
    let now = Instant::now();
    // The invocation's deadline bounds both the wait and the export.
    let platform_deadline =
        deadline_of(deadline_ms).map(|d| d.checked_sub(DEADLINE_MARGIN).unwrap_or(d));
    lock(pace).invoked(now, config.periodic_above);
    let wait_until = platform_deadline.map_or(now + config.wait, |d| d.min(now + config.wait));
    wait_for_invocation(shared, request_id, wait_until).await;
    prepare(shared);
    let now = Instant::now();
    let (empty, held) = {
        let buffer = lock(&shared.buffer);
        (buffer.is_empty(), buffer.bytes())
    };
    // Periodic mode still exports early when a quarter of the memory cap is in use, so a
    // burst is forwarded instead of dropped.
    let pressure = held >= config.memory_limit / 4;
    if empty || !(pressure || lock(pace).due(now, config.export_interval)) {
        return;
    }
    let mut deadline = now + config.export_timeout;
    if let Some(platform) = platform_deadline {
        deadline = deadline.min(platform);
    }
    forwarder.export(shared, deadline).await;
    lock(pace).last_export = Some(Instant::now());
}

async fn on_shutdown(shared: &Shared, forwarder: &Forwarder, deadline_ms: u64) {
    // Give the platform's last batch (the final report) a moment to arrive.
    tokio::time::sleep(Duration::from_millis(30)).await;
    lock(&shared.platform).finish();
    prepare(shared);
    let deadline = deadline_of(deadline_ms)
        .map(|d| d.checked_sub(DEADLINE_MARGIN).unwrap_or(d))
        .unwrap_or_else(|| Instant::now() + Duration::from_millis(1500));
    while !lock(&shared.buffer).is_empty() && Instant::now() < deadline {
        let report = forwarder.export(shared, deadline).await;
        if !report.left_over {
            break;
        }
    }
    let buffer = lock(&shared.buffer);
    let lost = buffer
        .traces
        .iter()
        .map(super::buffer::span_count)
        .sum::<u64>();
    if buffer.dropped.spans > 0 || lost > 0 {
        eprintln!(
            "faas-otel-extension: shutdown: {} spans dropped over the memory cap, {lost} not delivered before the deadline",
            buffer.dropped.spans
        );
    }
}
