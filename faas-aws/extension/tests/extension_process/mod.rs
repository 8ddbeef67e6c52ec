//! The real `faas-otel-extension` binary against a scripted Lambda and an OTLP receiver
//! upstream, for the end-to-end tests of Lambda Managed Instances (`managed_instances.rs`) and
//! function logs (`function_logs.rs`): start it, learn its ports from its first stderr line,
//! play the function's OTLP flushes and the platform's Telemetry API batches.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use faas_testkit::otlp::proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use faas_testkit::otlp::proto::tonic::trace::v1::{Span, span};
use faas_testkit::otlp::{self, OtlpReceiver, kv};
use faas_testkit::{PATIENCE, Process, wait_until};
use lambda_emulator::{InvokeEvent, ScriptedLambda};
use prost::Message;

/// The running binary and its OTLP/HTTP receiver.
pub struct Extension {
    pub process: Process,
    pub otlp: SocketAddr,
    http: reqwest::Client,
}

/// Starts the binary against `lambda`, forwarding to `upstream`, with `extra` variables over
/// the defaults (the environment is otherwise cleared), and waits until it has registered and
/// subscribed (its first `next` call).
pub fn start_extension(
    lambda: &ScriptedLambda,
    upstream: &OtlpReceiver,
    extra: &[(&str, &str)],
) -> Extension {
    let binary = std::env::var("FAAS_OTEL_EXTENSION_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_faas-otel-extension").to_owned());
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(lambda.env())
        .env("FAAS_OTEL_EXTENSION_ENDPOINT", upstream.url())
        .env("FAAS_OTEL_EXTENSION_LISTEN", "127.0.0.1:0")
        .env(
            "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN",
            "sandbox.localdomain:0",
        )
        .env("FAAS_OTEL_EXTENSION_GRPC_LISTEN", "127.0.0.1:0")
        .env("FAAS_OTEL_EXTENSION_COMPRESSION", "none")
        .envs(extra.iter().copied());
    let process = Process::spawn(command).unwrap();
    let otlp = wait_until("the extension to listen", PATIENCE, || {
        listening(&process.stderr(), "otlp-http")
    })
    .unwrap();
    lambda.wait_nexts(1);
    Extension {
        process,
        otlp,
        http: reqwest::Client::new(),
    }
}

/// The address after `name=` in the extension's `listening:` line.
fn listening(stderr: &str, name: &str) -> Option<SocketAddr> {
    let complete = stderr.rsplit_once('\n')?.0;
    let line = complete.lines().find(|l| l.contains("listening:"))?;
    let prefix = format!("{name}=");
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(prefix.as_str()))?
        .parse()
        .ok()
}

impl Extension {
    /// POSTs a trace request as protobuf, as the function's exporter does; the status.
    pub async fn post_traces(&self, request: &ExportTraceServiceRequest) -> u16 {
        self.http
            .post(format!("http://{}/v1/traces", self.otlp))
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Queues SHUTDOWN and checks the extension drains and exits 0.
    pub fn shut_down(&mut self, lambda: &ScriptedLambda) {
        lambda.shutdown("spindown", Duration::from_secs(2));
        let status = self.process.wait_exit(PATIENCE).unwrap();
        assert!(status.success(), "{status}\n{}", self.process.stderr());
    }
}

/// An INVOKE of `id` with a 30 s deadline.
pub fn invoke(id: &str) -> InvokeEvent {
    InvokeEvent::new(id)
        .trace_header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        .deadline_in(Duration::from_secs(30))
}

/// The span id of the invocation span of [`function_spans`] for `trace`.
pub fn invocation_span_id(trace: u128) -> u64 {
    (trace as u64) << 8
}

/// The function's trace for `request_id`: the invocation span `orders` carrying
/// `faas.invocation_id` and one child.
pub fn function_spans(request_id: &str, trace: u128) -> ExportTraceServiceRequest {
    let root = invocation_span_id(trace);
    let spans = vec![
        Span {
            trace_id: trace.to_be_bytes().to_vec(),
            span_id: root.to_be_bytes().to_vec(),
            name: "orders".into(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_010_000_000,
            attributes: vec![kv("faas.invocation_id", request_id)],
            ..Span::default()
        },
        Span {
            trace_id: trace.to_be_bytes().to_vec(),
            span_id: (root + 1).to_be_bytes().to_vec(),
            parent_span_id: root.to_be_bytes().to_vec(),
            name: "step".into(),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: 1_700_000_000_001_000_000,
            end_time_unix_nano: 1_700_000_000_002_000_000,
            ..Span::default()
        },
    ];
    otlp::trace_request(vec![kv("service.name", "orders")], spans)
}

/// One Telemetry API event at `time` (RFC 3339).
pub fn event(time: &str, event_type: &str, record: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "time": time, "type": event_type, "record": record })
}

/// POSTs `events` as one Telemetry API batch from a blocking thread; the extension's status.
pub async fn post_batch(lambda: &ScriptedLambda, events: Vec<serde_json::Value>) -> u16 {
    let lambda = lambda.clone();
    let body = serde_json::to_vec(&events).unwrap();
    tokio::task::spawn_blocking(move || lambda.post_telemetry(body).unwrap())
        .await
        .unwrap()
}
