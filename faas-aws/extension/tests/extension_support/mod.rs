//! Test support for `tests/extension.rs`: protocol-level fakes written from the documented
//! protocols (AWS Lambda Extensions API 2020-01-01 and Telemetry API 2022-07-01, see
//! `/work/shared/reference/platforms.md`), a real OTLP/HTTP upstream receiver that decodes
//! protobuf with `opentelemetry-proto` (gzip aware), and a handle on the real
//! `faas-otel-extension` process.
//!
//! Every recorded happening gets a number from one shared sequence ([`Clock`]), so a test can
//! assert what happened before what without comparing wall-clock times.
#![allow(clippy::unwrap_used, dead_code)]

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use prost::Message;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The generous bound of every wait (only to avoid hanging; never a threshold).
pub const WAIT: Duration = Duration::from_secs(10);

/// One sequence shared by the fakes: the order in which things happened.
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<AtomicU64>);

impl Clock {
    /// The next number.
    pub fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Polls `check` until it returns `Some`, at most [`WAIT`]; panics naming `what` otherwise.
pub async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + WAIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_micros(300)).await;
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// ---------------------------------------------------------------------------------------------
// Extensions API + Telemetry API

/// What the fake Lambda API saw.
#[derive(Debug, Default)]
pub struct ApiLog {
    /// `Lambda-Extension-Name` and the events of every registration.
    pub registrations: Vec<(String, Value)>,
    /// Sequence number of every `GET /extension/event/next` call, in order.
    pub next_calls: Vec<u64>,
    /// Events handed out by `next`.
    pub delivered: usize,
    /// Bodies of `PUT /2022-07-01/telemetry`.
    pub subscriptions: Vec<Value>,
    /// `Lambda-Extension-Function-Error-Type` and body of `POST /extension/init/error`.
    pub init_errors: Vec<(String, Value)>,
    /// `Lambda-Extension-Function-Error-Type` and body of `POST /extension/exit/error`.
    pub exit_errors: Vec<(String, Value)>,
}

struct ApiState {
    clock: Clock,
    log: Mutex<ApiLog>,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
}

/// The fake Extensions API and Telemetry API (the control side; the platform's event batches
/// are posted by the test with [`LambdaApi::post_platform_events`]).
pub struct LambdaApi {
    /// Where it listens (`AWS_LAMBDA_RUNTIME_API`).
    pub addr: SocketAddr,
    state: Arc<ApiState>,
    sender: mpsc::UnboundedSender<Value>,
    http: reqwest::Client,
}

const EXTENSION_ID: &str = "4c8e1f2a-0d4b-4a9e-9a64-2b2f3a1b7e10";

fn error_type(headers: &HeaderMap) -> String {
    headers
        .get("lambda-extension-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn json_body(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn register(State(s): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let name = headers
        .get("lambda-extension-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let events = json_body(&body)["events"].clone();
    lock(&s.log).registrations.push((name, events));
    (
        [("Lambda-Extension-Identifier", EXTENSION_ID)],
        axum::Json(json!({
            "functionName": "orders",
            "functionVersion": "$LATEST",
            "handler": "bootstrap"
        })),
    )
        .into_response()
}

fn has_id(headers: &HeaderMap) -> bool {
    headers
        .get("lambda-extension-identifier")
        .is_some_and(|v| v == EXTENSION_ID)
}

async fn next(State(s): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    if !has_id(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let seq = s.clock.tick();
    lock(&s.log).next_calls.push(seq);
    let event = s.events.lock().await.recv().await;
    match event {
        Some(event) => {
            lock(&s.log).delivered += 1;
            (
                [("Lambda-Extension-Event-Identifier", "e1")],
                axum::Json(event),
            )
                .into_response()
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn subscribe(State(s): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    if !has_id(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    lock(&s.log).subscriptions.push(json_body(&body));
    "OK".into_response()
}

async fn init_error(State(s): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    lock(&s.log)
        .init_errors
        .push((error_type(&headers), json_body(&body)));
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

async fn exit_error(State(s): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    lock(&s.log)
        .exit_errors
        .push((error_type(&headers), json_body(&body)));
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

impl LambdaApi {
    /// Starts the fake on a free loopback port.
    pub async fn start(clock: Clock) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(ApiState {
            clock,
            log: Mutex::default(),
            events: tokio::sync::Mutex::new(receiver),
        });
        let router = Router::new()
            .route("/2020-01-01/extension/register", post(register))
            .route("/2020-01-01/extension/event/next", get(next))
            .route("/2020-01-01/extension/init/error", post(init_error))
            .route("/2020-01-01/extension/exit/error", post(exit_error))
            .route("/2022-07-01/telemetry", put(subscribe))
            .with_state(state.clone());
        Self {
            addr: serve(router).await,
            state,
            sender,
            http: reqwest::Client::new(),
        }
    }

    /// What was seen so far.
    pub fn log(&self) -> MutexGuard<'_, ApiLog> {
        lock(&self.state.log)
    }

    /// Queues an INVOKE event (deadline 30 s ahead).
    pub fn invoke(&self, request_id: &str, trace_header: &str) {
        self.sender
            .send(json!({
                "eventType": "INVOKE",
                "deadlineMs": now_ms() + 30_000,
                "requestId": request_id,
                "invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
                "tracing": {"type": "X-Amzn-Trace-Id", "value": trace_header}
            }))
            .unwrap();
    }

    /// Queues a SHUTDOWN event (deadline 2 s ahead).
    pub fn shutdown(&self) {
        self.sender
            .send(json!({
                "eventType": "SHUTDOWN",
                "shutdownReason": "spindown",
                "deadlineMs": now_ms() + 2_000
            }))
            .unwrap();
    }

    /// Waits until `next` was called `n` times; returns the sequence number of that call.
    pub async fn wait_next_calls(&self, n: usize) -> u64 {
        wait_for(&format!("next call #{n}"), || {
            self.log().next_calls.get(n - 1).copied()
        })
        .await
    }

    /// Waits until `n` events were handed out.
    pub async fn wait_delivered(&self, n: usize) {
        wait_for(&format!("event #{n} delivered"), || {
            (self.log().delivered >= n).then_some(())
        })
        .await
    }

    /// The subscription's destination, with `sandbox.localdomain` replaced by `127.0.0.1`.
    pub async fn telemetry_destination(&self) -> String {
        wait_for("the Telemetry API subscription", || {
            let log = self.log();
            let uri = log.subscriptions.first()?["destination"]["URI"].as_str()?;
            Some(uri.replace("sandbox.localdomain", "127.0.0.1"))
        })
        .await
    }

    /// Posts a batch of platform events (a JSON array) as the platform does; returns the status.
    pub async fn post_platform_events(&self, batch: &[u8]) -> u16 {
        let destination = self.telemetry_destination().await;
        self.http
            .post(destination)
            .header("content-type", "application/json")
            .body(batch.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

// ---------------------------------------------------------------------------------------------
// Upstream OTLP receiver

/// How the upstream answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200.
    Accept,
    /// 503 with `Retry-After: 1`, always.
    Refuse,
    /// 503 with `Retry-After: 1` once, then [`Mode::Accept`].
    RefuseOnce,
}

/// One request the upstream got.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// `/v1/traces`, `/v1/metrics`, `/v1/logs`.
    pub path: String,
    /// When it came.
    pub at: Instant,
    /// Its place in the shared sequence.
    pub seq: u64,
    /// The status answered.
    pub status: u16,
}

/// What the upstream saw.
#[derive(Debug, Default)]
pub struct UpstreamLog {
    /// Every request.
    pub attempts: Vec<Attempt>,
    /// Accepted trace requests with their sequence number.
    pub traces: Vec<(u64, ExportTraceServiceRequest)>,
    /// Accepted metrics requests.
    pub metrics: Vec<ExportMetricsServiceRequest>,
    /// Content-Encoding of every request (`""` for none).
    pub encodings: Vec<String>,
}

impl UpstreamLog {
    /// Every accepted span with the sequence number of its request.
    pub fn spans(&self) -> Vec<(u64, Span)> {
        self.traces
            .iter()
            .flat_map(|(seq, r)| spans_of(r).into_iter().map(move |s| (*seq, s)))
            .collect()
    }

    /// The sum of `faas_otel.extension.dropped` points with `signal` = `signal`.
    pub fn dropped(&self, signal: &str) -> i64 {
        use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
        self.metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .filter(|m| m.name == "faas_otel.extension.dropped")
            .filter_map(|m| match &m.data {
                Some(metric::Data::Sum(sum)) => Some(sum),
                _ => None,
            })
            .flat_map(|sum| &sum.data_points)
            .filter(|p| str_attr(&p.attributes, "signal") == Some(signal))
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(n)) => n,
                _ => 0,
            })
            .sum()
    }
}

struct UpstreamState {
    clock: Clock,
    mode: Mutex<Mode>,
    log: Mutex<UpstreamLog>,
}

/// A real OTLP/HTTP receiver (protobuf, plain or gzip).
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<UpstreamState>,
}

fn inflate(headers: &HeaderMap, body: &[u8]) -> (String, Vec<u8>) {
    let encoding = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if encoding == "gzip" {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap();
        (encoding, out)
    } else {
        (encoding, body.to_vec())
    }
}

async fn otlp(
    State(s): State<Arc<UpstreamState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seq = s.clock.tick();
    let path = uri.path().to_owned();
    let refuse = {
        let mut mode = lock(&s.mode);
        match *mode {
            Mode::Accept => false,
            Mode::Refuse => true,
            Mode::RefuseOnce => {
                *mode = Mode::Accept;
                true
            }
        }
    };
    let status = if refuse { 503 } else { 200 };
    let mut log = lock(&s.log);
    log.attempts.push(Attempt {
        path: path.clone(),
        at: Instant::now(),
        seq,
        status,
    });
    let (encoding, body) = inflate(&headers, &body);
    log.encodings.push(encoding);
    if refuse {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "1")],
            "try later",
        )
            .into_response();
    }
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/x-protobuf"
    );
    match path.as_str() {
        "/v1/traces" => log
            .traces
            .push((seq, ExportTraceServiceRequest::decode(&body[..]).unwrap())),
        "/v1/metrics" => log
            .metrics
            .push(ExportMetricsServiceRequest::decode(&body[..]).unwrap()),
        _ => {}
    }
    (
        [("content-type", "application/x-protobuf")],
        Vec::<u8>::new(),
    )
        .into_response()
}

impl Upstream {
    /// Starts the receiver in `mode`.
    pub async fn start(clock: Clock, mode: Mode) -> Self {
        let state = Arc::new(UpstreamState {
            clock,
            mode: Mutex::new(mode),
            log: Mutex::default(),
        });
        let router = Router::new()
            .route("/v1/traces", post(otlp))
            .route("/v1/metrics", post(otlp))
            .route("/v1/logs", post(otlp))
            .with_state(state.clone());
        Self {
            addr: serve(router).await,
            state,
        }
    }

    /// Switches how it answers.
    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.state.mode) = mode;
    }

    /// What was seen so far.
    pub fn log(&self) -> MutexGuard<'_, UpstreamLog> {
        lock(&self.state.log)
    }
}

// ---------------------------------------------------------------------------------------------
// OTLP helpers

/// Every span of `request`.
pub fn spans_of(request: &ExportTraceServiceRequest) -> Vec<Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect()
}

/// A string attribute of `attributes`.
pub fn str_attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

/// A string key-value.
pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

/// The function's span number `n` of its invocation `request_id`.
pub fn function_span(trace_id: u128, span_id: u64, request_id: &str, n: usize) -> Span {
    Span {
        trace_id: trace_id.to_be_bytes().to_vec(),
        span_id: span_id.to_be_bytes().to_vec(),
        name: format!("orders step {n}"),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_010_000_000,
        attributes: vec![
            kv("faas.invocation_id", request_id),
            kv("faas.trigger", "other"),
        ],
        ..Span::default()
    }
}

/// A request of `spans` under a `service.name=orders` resource.
pub fn trace_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(opentelemetry_proto::tonic::resource::v1::Resource {
                attributes: vec![kv("service.name", "orders")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

// ---------------------------------------------------------------------------------------------
// The extension process

/// The running `faas-otel-extension` and its addresses.
pub struct ExtensionProcess {
    /// The child.
    pub child: Child,
    /// Its OTLP receiver (`FAAS_OTEL_EXTENSION_LISTEN`).
    pub otlp: SocketAddr,
    http: reqwest::Client,
}

impl ExtensionProcess {
    /// Starts the binary against `api` (and `upstream`, if any) with `extra` variables; the
    /// environment is otherwise cleared.
    pub fn spawn(api: &LambdaApi, upstream: Option<&Upstream>, extra: &[(&str, &str)]) -> Self {
        let otlp: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_faas-otel-extension"));
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("FAAS_OTEL_EXTENSION_LISTEN", otlp.to_string())
            .env(
                "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN",
                format!("127.0.0.1:{}", free_port()),
            )
            // Tests run in parallel: the gRPC receiver (feature `extension-grpc`) must not
            // take the default 4317 in each of them.
            .env(
                "FAAS_OTEL_EXTENSION_GRPC_LISTEN",
                format!("127.0.0.1:{}", free_port()),
            )
            .env("FAAS_OTEL_EXTENSION_COMPRESSION", "none")
            .env("AWS_LAMBDA_FUNCTION_NAME", "orders")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null());
        if let Some(upstream) = upstream {
            command.env(
                "FAAS_OTEL_EXTENSION_ENDPOINT",
                format!("http://{}", upstream.addr),
            );
        }
        for (k, v) in extra {
            command.env(k, v);
        }
        Self {
            child: command.spawn().unwrap(),
            otlp,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs `body` to the receiver's `path` with `headers`; returns status and body.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Bytes) {
        let mut request = self
            .http
            .post(format!("http://{}{path}", self.otlp))
            .body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap())
    }

    /// POSTs a trace request as protobuf, as the function's exporter does.
    pub async fn post_traces(&self, request: &ExportTraceServiceRequest) -> (u16, Bytes) {
        self.post(
            "/v1/traces",
            &[("content-type", "application/x-protobuf")],
            request.encode_to_vec(),
        )
        .await
    }

    /// Waits for the process to exit.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let child = &mut self.child;
        wait_for("the extension to exit", || child.try_wait().unwrap()).await
    }

    /// The child's peak resident memory (`VmHWM`) in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .unwrap()
            .to_owned();
        let kb: u64 = line
            .trim_start_matches("VmHWM:")
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap();
        kb * 1024
    }
}

impl Drop for ExtensionProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
