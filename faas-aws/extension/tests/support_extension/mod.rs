//! Test support for `faas-otel-extension`, written from the documented protocols:
//!
//! - [`FakeLambda`]: the Extensions API (`register` answering `Lambda-Extension-Identifier`,
//!   `event/next` handing out the INVOKE and SHUTDOWN events the test queues, `init/error`,
//!   `exit/error`) and the Telemetry API (`PUT /2022-07-01/telemetry`; the test then POSTs
//!   platform event batches to the subscribed destination, `sandbox.localdomain` replaced by
//!   `127.0.0.1`);
//! - [`Upstream`]: a real OTLP/HTTP receiver decoding protobuf or JSON (gzip or not) with
//!   `opentelemetry-proto`, that can be scripted to answer errors with `Retry-After`;
//! - [`ExtensionProcess`]: the real binary, started against both.
//!
//! Every request to either fake goes into one shared [`Log`], so tests can check ordering.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{Value, json};

/// Generous bound for waits, only so that a broken extension fails a test instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// One thing that happened, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// `POST /extension/register` with the `Lambda-Extension-Name` header.
    Register(String),
    /// `GET /extension/event/next` arrived (the extension is done with the previous event).
    Next,
    /// An event was handed out: the INVOKE's request id or `SHUTDOWN`.
    Delivered(String),
    /// `POST /extension/init/error` with its error type header and body.
    InitError(String, String),
    /// `POST /extension/exit/error` with its error type header and body.
    ExitError(String, String),
    /// `PUT /2022-07-01/telemetry` with its body.
    Subscribe(Value),
    /// An upstream request to `path` answered `status`; the `faas.invocation_id`s it carried.
    Upstream {
        /// `/v1/traces`, `/v1/metrics` or `/v1/logs`.
        path: String,
        /// The status answered.
        status: u16,
        /// `faas.invocation_id` values of its spans.
        invocation_ids: Vec<String>,
    },
}

/// The shared, ordered log, with the time of every entry.
#[derive(Debug, Default)]
pub struct Log(Mutex<Vec<(Instant, Entry)>>);

impl Log {
    /// Appends `entry`.
    pub fn push(&self, entry: Entry) {
        self.0.lock().unwrap().push((Instant::now(), entry));
    }

    /// A copy of every entry so far.
    pub fn entries(&self) -> Vec<(Instant, Entry)> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (polling) until `pred` holds for the entries, at most [`PATIENCE`].
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[(Instant, Entry)]) -> bool) {
        let until = Instant::now() + PATIENCE;
        loop {
            if pred(&self.0.lock().unwrap()) {
                return;
            }
            assert!(Instant::now() < until, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// How many `Next` entries there are.
    pub fn nexts(&self) -> usize {
        self.count(|e| matches!(e, Entry::Next))
    }

    /// How many entries match.
    pub fn count(&self, pred: impl Fn(&Entry) -> bool) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| pred(e))
            .count()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn serve(listener: tokio::net::TcpListener, router: Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
}

// ----------------------------------------------------------------------------------------
// The Extensions API and Telemetry API.

struct LambdaState {
    log: Arc<Log>,
    events: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Value>>,
    destination: Mutex<Option<String>>,
    registered_at: Mutex<Option<Instant>>,
}

/// The fake Extensions + Telemetry API.
pub struct FakeLambda {
    /// Its address (`AWS_LAMBDA_RUNTIME_API`).
    pub addr: SocketAddr,
    /// The shared log.
    pub log: Arc<Log>,
    events: tokio::sync::mpsc::UnboundedSender<Value>,
    state: Arc<LambdaState>,
    http: reqwest::Client,
}

/// The identifier the fake hands out at registration.
pub const EXTENSION_ID: &str = "9b7c1f0e-0000-4000-8000-00000000e1d0";

impl FakeLambda {
    /// Starts the fake on a free loopback port, logging into `log`.
    pub async fn start(log: Arc<Log>) -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let state = Arc::new(LambdaState {
            log: log.clone(),
            events: tokio::sync::Mutex::new(rx),
            destination: Mutex::new(None),
            registered_at: Mutex::new(None),
        });
        let router = Router::new()
            .route("/2020-01-01/extension/register", post(register))
            .route("/2020-01-01/extension/event/next", get(next))
            .route("/2020-01-01/extension/{kind}/error", post(error))
            .route("/2022-07-01/telemetry", put(subscribe))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        serve(listener, router).await;
        Self {
            addr,
            log,
            events: tx,
            state,
            http: reqwest::Client::new(),
        }
    }

    /// When the register request arrived.
    pub fn registered_at(&self) -> Option<Instant> {
        *self.state.registered_at.lock().unwrap()
    }

    /// Queues an INVOKE for `request_id` with a deadline `deadline_in` from now.
    pub fn invoke(&self, request_id: &str, deadline_in: Duration) {
        self.events
            .send(json!({
                "eventType": "INVOKE",
                "deadlineMs": now_ms() + deadline_in.as_millis() as u64,
                "requestId": request_id,
                "invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
                "tracing": {
                    "type": "X-Amzn-Trace-Id",
                    "value": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                }
            }))
            .unwrap();
    }

    /// Queues a SHUTDOWN with a deadline `deadline_in` from now.
    pub fn shutdown(&self, deadline_in: Duration) {
        self.events
            .send(json!({
                "eventType": "SHUTDOWN",
                "shutdownReason": "spindown",
                "deadlineMs": now_ms() + deadline_in.as_millis() as u64,
            }))
            .unwrap();
    }

    /// Queues an INVOKE (deadline in 10 s) and waits until the extension took it.
    pub async fn invoke_and_wait(&self, request_id: &str) {
        self.invoke_with_deadline(request_id, Duration::from_secs(10))
            .await;
    }

    /// Queues an INVOKE with a deadline `deadline_in` from now and waits until the extension
    /// took it.
    pub async fn invoke_with_deadline(&self, request_id: &str, deadline_in: Duration) {
        self.invoke(request_id, deadline_in);
        let id = request_id.to_owned();
        self.log
            .wait_for(&format!("INVOKE {id} delivered"), |entries| {
                entries
                    .iter()
                    .any(|(_, e)| *e == Entry::Delivered(id.clone()))
            })
            .await;
    }

    /// Waits until the extension has asked for its `n`-th event.
    pub async fn wait_for_nexts(&self, n: usize) {
        self.log
            .wait_for(&format!("{n} calls to /next"), |entries| {
                entries.iter().filter(|(_, e)| *e == Entry::Next).count() >= n
            })
            .await;
    }

    /// The Telemetry API subscription's destination, with `sandbox.localdomain` replaced by
    /// `127.0.0.1` (as the test is not inside a Lambda sandbox).
    pub fn destination(&self) -> Option<String> {
        self.state
            .destination
            .lock()
            .unwrap()
            .as_ref()
            .map(|uri| uri.replace("sandbox.localdomain", "127.0.0.1"))
    }

    /// POSTs a batch of platform events to the subscribed destination; returns the status.
    pub async fn post_platform(&self, batch: &Value) -> u16 {
        let destination = self.destination().expect("subscribed");
        self.http
            .post(destination)
            .header("content-type", "application/json")
            .body(batch.to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

async fn register(State(state): State<Arc<LambdaState>>, headers: HeaderMap) -> Response {
    state
        .registered_at
        .lock()
        .unwrap()
        .get_or_insert(Instant::now());
    let name = headers
        .get("lambda-extension-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    state.log.push(Entry::Register(name));
    (
        [("lambda-extension-identifier", EXTENSION_ID)],
        axum::Json(json!({
            "functionName": "orders",
            "functionVersion": "$LATEST",
            "handler": "bootstrap",
        })),
    )
        .into_response()
}

async fn next(State(state): State<Arc<LambdaState>>, headers: HeaderMap) -> Response {
    if headers
        .get("lambda-extension-identifier")
        .and_then(|v| v.to_str().ok())
        != Some(EXTENSION_ID)
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    state.log.push(Entry::Next);
    let Some(event) = state.events.lock().await.recv().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let id = event["requestId"].as_str().unwrap_or("SHUTDOWN").to_owned();
    state.log.push(Entry::Delivered(id.clone()));
    (
        [("lambda-extension-event-identifier", id)],
        axum::Json(event),
    )
        .into_response()
}

async fn error(
    State(state): State<Arc<LambdaState>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let error_type = headers
        .get("lambda-extension-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = String::from_utf8_lossy(&body).into_owned();
    match kind.as_str() {
        "init" => state.log.push(Entry::InitError(error_type, body)),
        "exit" => state.log.push(Entry::ExitError(error_type, body)),
        _ => return StatusCode::NOT_FOUND,
    }
    StatusCode::ACCEPTED
}

async fn subscribe(
    State(state): State<Arc<LambdaState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if headers
        .get("lambda-extension-identifier")
        .and_then(|v| v.to_str().ok())
        != Some(EXTENSION_ID)
    {
        return StatusCode::FORBIDDEN;
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let uri = value["destination"]["URI"].as_str().map(str::to_owned);
    *state.destination.lock().unwrap() = uri;
    state.log.push(Entry::Subscribe(value));
    StatusCode::OK
}

// ----------------------------------------------------------------------------------------
// The upstream OTLP receiver.

/// A scripted upstream answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status to answer.
    pub status: u16,
    /// `Retry-After` value, if any.
    pub retry_after: Option<String>,
}

/// One request the upstream received.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived.
    pub at: Instant,
    /// Its path.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its wall-clock arrival time.
    pub wall: SystemTime,
    /// Its raw body.
    pub body: Bytes,
}

#[derive(Default)]
struct UpstreamData {
    count_only: bool,
    counted_spans: u64,
    last_at: Option<Instant>,
    script: VecDeque<Reply>,
    received: Vec<Received>,
    traces: Vec<ExportTraceServiceRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
    logs: Vec<ExportLogsServiceRequest>,
}

struct UpstreamState {
    log: Arc<Log>,
    data: Mutex<UpstreamData>,
}

/// The upstream OTLP/HTTP receiver.
#[derive(Clone)]
pub struct Upstream {
    /// Its address.
    pub addr: SocketAddr,
    state: Arc<UpstreamState>,
}

impl Upstream {
    /// Starts a receiver on `port` (0: any free port).
    pub async fn start(log: Arc<Log>, port: u16) -> Self {
        let state = Arc::new(UpstreamState {
            log,
            data: Mutex::default(),
        });
        let router = Router::new()
            .route("/v1/{signal}", post(upstream))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        serve(listener, router).await;
        Self { addr, state }
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on only counts spans (for load measurements): nothing else is kept.
    pub fn count_only(&self) {
        self.state.data.lock().unwrap().count_only = true;
    }

    /// Spans counted in count-only mode, and when the last request arrived.
    pub fn counted(&self) -> (u64, Option<Instant>) {
        let data = self.state.data.lock().unwrap();
        (data.counted_spans, data.last_at)
    }

    /// Answers the next requests with `replies`, in order, then 200 again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.data.lock().unwrap().script.extend(replies);
    }

    /// Every request received.
    pub fn received(&self) -> Vec<Received> {
        self.state.data.lock().unwrap().received.clone()
    }

    /// The trace requests accepted.
    pub fn traces(&self) -> Vec<ExportTraceServiceRequest> {
        self.state.data.lock().unwrap().traces.clone()
    }

    /// The metrics requests accepted.
    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.state.data.lock().unwrap().metrics.clone()
    }

    /// The logs requests accepted.
    pub fn logs(&self) -> Vec<ExportLogsServiceRequest> {
        self.state.data.lock().unwrap().logs.clone()
    }

    /// Every span accepted.
    pub fn spans(&self) -> Vec<Span> {
        self.traces()
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect()
    }

    /// The sum of the `faas_otel.extension.dropped` points with `signal` = `signal`.
    pub fn reported_dropped(&self, signal: &str) -> i64 {
        self.metrics()
            .into_iter()
            .flat_map(|r| r.resource_metrics)
            .flat_map(|r| r.scope_metrics)
            .flat_map(|s| s.metrics)
            .filter(|m| m.name == "faas_otel.extension.dropped")
            .filter_map(|m| match m.data {
                Some(metric::Data::Sum(sum)) => Some(sum.data_points),
                _ => None,
            })
            .flatten()
            .filter(|p| attr_str(&p.attributes, "signal") == Some(signal))
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(n)) => n,
                _ => 0,
            })
            .sum()
    }
}

/// The string attribute `key` of `attributes`.
pub fn attr_str<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

fn invocation_ids(request: &ExportTraceServiceRequest) -> Vec<String> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .filter_map(|s| attr_str(&s.attributes, "faas.invocation_id").map(str::to_owned))
        .collect()
}

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, String> {
    let mut plain = Vec::new();
    let body = if headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        == Some("gzip")
    {
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut plain)
            .map_err(|e| e.to_string())?;
        &plain[..]
    } else {
        body
    };
    match headers.get("content-type").and_then(|v| v.to_str().ok()) {
        Some("application/x-protobuf") => T::decode(body).map_err(|e| e.to_string()),
        Some("application/json") => serde_json::from_slice(body).map_err(|e| e.to_string()),
        other => Err(format!("content type {other:?}")),
    }
}

async fn upstream(
    State(state): State<Arc<UpstreamState>>,
    Path(signal): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/{signal}");
    let mut data = state.data.lock().unwrap();
    data.last_at = Some(Instant::now());
    if data.count_only {
        if signal == "traces" {
            let request: ExportTraceServiceRequest = decode(&headers, &body).unwrap();
            data.counted_spans += request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len() as u64)
                .sum::<u64>();
        }
        return StatusCode::OK.into_response();
    }
    let reply = data.script.pop_front().unwrap_or(Reply {
        status: 200,
        retry_after: None,
    });
    let mut ids = Vec::new();
    if reply.status == 200 {
        let decoded = match signal.as_str() {
            "traces" => decode::<ExportTraceServiceRequest>(&headers, &body).map(|r| {
                ids = invocation_ids(&r);
                data.traces.push(r);
            }),
            "metrics" => decode(&headers, &body).map(|r| data.metrics.push(r)),
            "logs" => decode(&headers, &body).map(|r| data.logs.push(r)),
            _ => Err("unknown signal".into()),
        };
        if let Err(error) = decoded {
            panic!("upstream could not decode {path}: {error}");
        }
    }
    data.received.push(Received {
        at: Instant::now(),
        path: path.clone(),
        status: reply.status,
        headers: headers.clone(),
        wall: SystemTime::now(),
        body: body.clone(),
    });
    state.log.push(Entry::Upstream {
        path,
        status: reply.status,
        invocation_ids: ids,
    });
    let status = StatusCode::from_u16(reply.status).unwrap();
    let mut response = (status, "").into_response();
    if let Some(retry_after) = reply.retry_after {
        response
            .headers_mut()
            .insert("retry-after", retry_after.parse().unwrap());
    }
    response
}

// ----------------------------------------------------------------------------------------
// The extension process.

/// The extension binary under test (`FAAS_OTEL_EXTENSION_BIN` overrides, e.g. a release build).
pub fn binary() -> String {
    std::env::var("FAAS_OTEL_EXTENSION_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_faas-otel-extension").to_owned())
}

/// A running extension.
pub struct ExtensionProcess {
    /// The child.
    pub child: Child,
    /// Its OTLP receiver.
    pub otlp: SocketAddr,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// When it was started.
    pub started: Instant,
}

impl ExtensionProcess {
    /// Starts the binary against `lambda`, forwarding to `endpoint`, with `extra` variables.
    pub fn start(lambda: &FakeLambda, endpoint: &str, extra: &[(&str, &str)]) -> Self {
        let otlp: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut command = Command::new(binary());
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", lambda.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "orders")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_REGION", "us-east-1")
            .env("FAAS_OTEL_EXTENSION_ENDPOINT", endpoint)
            .env("FAAS_OTEL_EXTENSION_LISTEN", otlp.to_string())
            .env(
                "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN",
                format!("sandbox.localdomain:{}", free_port()),
            )
            // Tests run in parallel: the gRPC receiver (feature `extension-grpc`) must not
            // take the default 4317 in each of them.
            .env(
                "FAAS_OTEL_EXTENSION_GRPC_LISTEN",
                format!("127.0.0.1:{}", free_port()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            command.env(k, v);
        }
        let started = Instant::now();
        let mut child = command.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let _ = std::io::stderr().write_all(text.as_bytes());
                sink.lock().unwrap().push_str(&text);
            }
        });
        Self {
            child,
            otlp,
            stderr,
            reader: Some(reader),
            started,
        }
    }

    /// Everything the extension wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `http://otlp`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.otlp)
    }

    /// Waits for the process to end; its exit code.
    pub async fn wait_exit(&mut self) -> Option<i32> {
        let until = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // All of its stderr is in once the pipe is closed.
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return status.code();
            }
            assert!(Instant::now() < until, "the extension did not exit");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A line of `/proc/<pid>/status` (e.g. `VmHWM`), in KiB.
    pub fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{field}:")))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// utime + stime in clock ticks, from `/proc/<pid>/stat`.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }
}

impl Drop for ExtensionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts everything and waits until the extension registered and subscribed.
pub async fn start_all(
    extra: &[(&str, &str)],
) -> (Arc<Log>, FakeLambda, Upstream, ExtensionProcess) {
    let log = Arc::new(Log::default());
    let lambda = FakeLambda::start(log.clone()).await;
    let upstream = Upstream::start(log.clone(), 0).await;
    let extension = ExtensionProcess::start(&lambda, &upstream.url(), extra);
    lambda.wait_for_nexts(1).await;
    (log, lambda, upstream, extension)
}

// ----------------------------------------------------------------------------------------
// What a function sends.

static NEXT_SPAN: AtomicU64 = AtomicU64::new(1);

/// A fresh, process-unique span id.
pub fn span_id() -> [u8; 8] {
    NEXT_SPAN.fetch_add(1, Ordering::SeqCst).to_be_bytes()
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

/// A function's trace request for `request_id`: `spans` spans in one trace, the first the
/// invocation span carrying `faas.invocation_id`, the others its children.
pub fn function_spans(request_id: &str, trace: u128, spans: usize) -> ExportTraceServiceRequest {
    let trace_id = trace.to_be_bytes().to_vec();
    let root = span_id();
    let mut all = vec![Span {
        trace_id: trace_id.clone(),
        span_id: root.to_vec(),
        name: "orders".into(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_010_000_000,
        attributes: vec![string_kv("faas.invocation_id", request_id)],
        ..Span::default()
    }];
    for i in 1..spans {
        all.push(Span {
            trace_id: trace_id.clone(),
            span_id: span_id().to_vec(),
            parent_span_id: root.to_vec(),
            name: format!("step {i}"),
            kind: 1,
            start_time_unix_nano: 1_700_000_000_001_000_000,
            end_time_unix_nano: 1_700_000_000_002_000_000,
            ..Span::default()
        });
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_kv("service.name", "orders")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: all,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// POSTs `request` as protobuf to the extension like the function's exporter; the status and
/// the decoded response.
pub async fn post_traces(
    http: &reqwest::Client,
    extension: &ExtensionProcess,
    request: &ExportTraceServiceRequest,
) -> (u16, ExportTraceServiceResponse) {
    let response = http
        .post(extension.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    let decoded = if status == 200 {
        ExportTraceServiceResponse::decode(&body[..]).unwrap()
    } else {
        ExportTraceServiceResponse::default()
    };
    (status, decoded)
}
