//! The real extension binary against lambda-emulator's scripted APIs and faas-testkit's OTLP
//! receiver, for the flush-strategy, upstream, Managed Instances, function-logs, held-bytes and
//! SigV4 tests ([`start_extension`] against an emulator of the test's own; [`start`] with a
//! fresh emulator and upstream): in [`start`] one shared [`Sequence`] numbers the
//! emulator's journal and the upstream's requests, so "the export came while the invocation
//! ran" is a comparison of two numbers. The test also plays the function's runtime (the
//! Runtime API's `next` and `response`), so the journal holds the function's response.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use faas_testkit::otlp::proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use faas_testkit::otlp::proto::tonic::trace::v1::{Span, span};
use faas_testkit::otlp::{self, OtlpReceiver, OtlpRequest, kv, str_attr};
use faas_testkit::{PATIENCE, Process, Reply, wait_until, wait_until_async};
use lambda_emulator::{Entry, InvokeEvent, Logged, ScriptedLambda, ScriptedOptions, Sequence};
use prost::Message;

/// The running binary, where it listens, and one client for the test's requests.
pub struct Extension {
    pub process: Process,
    pub otlp: SocketAddr,
    pub http: reqwest::Client,
    runtime_api: String,
}

/// The emulator, the upstream and the extension of one test, on one sequence.
pub struct World {
    pub lambda: ScriptedLambda,
    pub upstream: OtlpReceiver,
    pub extension: Extension,
}

/// The address after `name=` in the extension's `listening:` line.
pub fn listening(stderr: &str, name: &str) -> Option<SocketAddr> {
    // Only a complete line: the pipe may hand over half of one.
    let complete = stderr.rsplit_once('\n')?.0;
    let line = complete.lines().find(|l| l.contains("listening:"))?;
    let prefix = format!("{name}=");
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(prefix.as_str()))?
        .parse()
        .ok()
}

/// Starts an emulator, an upstream built by `upstream` (on the shared sequence) and the
/// extension forwarding to it with `extra` variables; waits until it registered.
pub fn start(
    upstream: impl FnOnce(
        faas_testkit::otlp::OtlpReceiverBuilder,
    ) -> faas_testkit::otlp::OtlpReceiverBuilder,
    extra: &[(&str, &str)],
) -> World {
    let sequence = Sequence::new();
    let lambda = ScriptedLambda::start_with(ScriptedOptions {
        sequence: sequence.clone(),
        ..ScriptedOptions::default()
    })
    .unwrap();
    let upstream = upstream(OtlpReceiver::builder().sequence(sequence))
        .start()
        .unwrap();
    let extension = start_extension(&lambda, &upstream, extra);
    World {
        lambda,
        upstream,
        extension,
    }
}

/// Starts the binary against `lambda`, forwarding to `endpoint` (none: the variable is unset),
/// with `extra` variables over the defaults; the environment is otherwise cleared.
pub fn spawn(lambda: &ScriptedLambda, endpoint: Option<&str>, extra: &[(&str, &str)]) -> Process {
    let binary = std::env::var("FAAS_OTEL_EXTENSION_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_faas-otel-extension").to_owned());
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(lambda.env())
        .env("FAAS_OTEL_EXTENSION_LISTEN", "127.0.0.1:0")
        // Off Lambda the name does not resolve: the extension listens on loopback and
        // subscribes with the name, which the emulator maps back to 127.0.0.1.
        .env(
            "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN",
            "sandbox.localdomain:0",
        )
        .env("FAAS_OTEL_EXTENSION_GRPC_LISTEN", "127.0.0.1:0")
        .env("FAAS_OTEL_EXTENSION_COMPRESSION", "none");
    if let Some(endpoint) = endpoint {
        command.env("FAAS_OTEL_EXTENSION_ENDPOINT", endpoint);
    }
    command.envs(extra.iter().copied());
    Process::spawn(command).unwrap()
}

/// Starts the binary against `lambda`, forwarding to `upstream`, with `extra` variables over
/// the defaults (the environment is otherwise cleared), and waits until it has registered and
/// subscribed (its first `next` call).
pub fn start_extension(
    lambda: &ScriptedLambda,
    upstream: &OtlpReceiver,
    extra: &[(&str, &str)],
) -> Extension {
    let process = spawn(lambda, Some(&upstream.url()), extra);
    let otlp = wait_until("the extension to listen", PATIENCE, || {
        listening(&process.stderr(), "otlp-http")
    })
    .unwrap();
    lambda.wait_nexts(1);
    Extension {
        process,
        otlp,
        http: faas_testkit::http_client(Some(PATIENCE)).unwrap(),
        runtime_api: lambda.runtime_api(),
    }
}

/// A start with an upstream answering everything after `delay`.
pub fn start_delayed(delay: Duration, extra: &[(&str, &str)]) -> World {
    start(|b| b.answer_after(delay), extra)
}

/// A start with an upstream answering `reply` by default.
pub fn start_answering(reply: Reply, extra: &[(&str, &str)]) -> World {
    start(|b| b.default_reply(reply), extra)
}

pub fn request_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

pub fn invoke(id: &str) -> InvokeEvent {
    InvokeEvent::new(id).deadline_in(Duration::from_secs(30))
}

/// The function's trace for `request_id`: `spans` spans in trace `trace`, the first the
/// invocation span carrying `faas.invocation_id`, every one carrying it too (so the spans of
/// one invocation are found however the upstream's requests split them).
pub fn function_spans(request_id: &str, trace: u128, spans: usize) -> ExportTraceServiceRequest {
    let root = (trace as u64) << 8;
    let all = (0..spans)
        .map(|i| Span {
            trace_id: trace.to_be_bytes().to_vec(),
            span_id: (root + i as u64 + 1).to_be_bytes().to_vec(),
            parent_span_id: if i == 0 {
                Vec::new()
            } else {
                (root + 1).to_be_bytes().to_vec()
            },
            name: if i == 0 {
                "orders".into()
            } else {
                format!("step {i}")
            },
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_010_000_000,
            attributes: vec![kv("faas.invocation_id", request_id)],
            ..Span::default()
        })
        .collect();
    otlp::trace_request(vec![kv("service.name", "orders")], all)
}

impl Extension {
    /// POSTs a trace request as protobuf, as the function's exporter does; the status and the
    /// answer.
    pub async fn post_traces(
        &self,
        request: &ExportTraceServiceRequest,
    ) -> (u16, ExportTraceServiceResponse) {
        let response = self
            .http
            .post(format!("http://{}/v1/traces", self.otlp))
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        (
            status,
            ExportTraceServiceResponse::decode(&body[..]).unwrap_or_default(),
        )
    }

    /// The runtime takes its next invocation (`GET .../invocation/next`); its request id.
    pub async fn runtime_next(&self) -> String {
        let response = self
            .http
            .get(format!(
                "http://{}/2018-06-01/runtime/invocation/next",
                self.runtime_api
            ))
            .send()
            .await
            .unwrap();
        response
            .headers()
            .get("lambda-runtime-aws-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The runtime answers invocation `id`.
    pub async fn runtime_respond(&self, id: &str) {
        let status = self
            .http
            .post(format!(
                "http://{}/2018-06-01/runtime/invocation/{id}/response",
                self.runtime_api
            ))
            .body("\"ok\"")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 202);
    }

    /// Queues SHUTDOWN and checks the extension drains and exits 0.
    pub fn shut_down(&mut self, lambda: &ScriptedLambda) {
        lambda.shutdown("spindown", Duration::from_secs(2));
        let status = self.process.wait_exit(PATIENCE).unwrap();
        assert!(status.success(), "{status}\n{}", self.process.stderr());
    }
}

/// The journal's entry `pick`s, the first one.
pub fn entry(lambda: &ScriptedLambda, pick: impl Fn(&Logged) -> bool) -> Logged {
    lambda
        .entries()
        .into_iter()
        .find(|l| pick(l))
        .unwrap_or_else(|| panic!("no such entry in {:?}", lambda.entries()))
}

/// Waits (async) until the extension called `next` after the journal entry numbered `after`;
/// that call.
pub async fn next_after(lambda: &ScriptedLambda, after: u64) -> Logged {
    wait_until_async("the extension's next call", PATIENCE, || {
        lambda
            .entries()
            .into_iter()
            .find(|l| l.seq > after && l.entry.is_next())
    })
    .await
    .unwrap()
}

/// The upstream's trace requests (answered 2xx) holding a span of invocation `id`.
pub fn requests_with(upstream: &OtlpReceiver, id: &str) -> Vec<OtlpRequest> {
    upstream
        .requests()
        .into_iter()
        .filter(|r| r.accepted())
        .filter(|r| {
            r.traces().is_some_and(|t| {
                t.resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .flat_map(|s| &s.spans)
                    .any(|s| str_attr(&s.attributes, "faas.invocation_id") == Some(id))
            })
        })
        .collect()
}

/// Waits (async) until the upstream received a span of invocation `id`.
pub async fn wait_upstream_has(upstream: &OtlpReceiver, id: &str) {
    wait_until_async(&format!("the spans of {id} upstream"), PATIENCE, || {
        (!requests_with(upstream, id).is_empty()).then_some(())
    })
    .await
    .unwrap();
}

/// Whether `l` is the runtime's answer to `id`.
pub fn answer_of(id: &str) -> impl Fn(&Logged) -> bool + '_ {
    move |l| l.entry.is_answer_to(id)
}

/// Whether `l` is the delivery of `id`'s INVOKE to the extension.
pub fn delivery_of(id: &str) -> impl Fn(&Logged) -> bool + '_ {
    move |l| matches!(&l.entry, Entry::Delivered { id: d, .. } if d == id)
}

/// The median of `values` (sorted copy; `Duration::ZERO` when empty).
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// The sum of the dropped self-metric's points for `signal` and `reason`.
pub fn dropped(upstream: &OtlpReceiver, signal: &str, reason: &str) -> i64 {
    use faas_testkit::otlp::proto::tonic::metrics::v1::{metric, number_data_point};
    upstream
        .metrics()
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
        .filter(|p| {
            str_attr(&p.attributes, "signal") == Some(signal)
                && str_attr(&p.attributes, "faas_otel.drop_reason") == Some(reason)
        })
        .map(|p| match p.value {
            Some(number_data_point::Value::AsInt(n)) => n,
            _ => 0,
        })
        .sum()
}

/// An INVOKE of `id` with a 30 s deadline and a sampled X-Ray header.
pub fn invoke_traced(id: &str) -> InvokeEvent {
    InvokeEvent::new(id)
        .trace_header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        .deadline_in(Duration::from_secs(30))
}

/// The span id of the invocation span of [`invocation_trace`] for `trace`.
pub fn invocation_span_id(trace: u128) -> u64 {
    (trace as u64) << 8
}

/// The function's trace for `request_id`: the invocation span `orders` carrying
/// `faas.invocation_id` and one child.
pub fn invocation_trace(request_id: &str, trace: u128) -> ExportTraceServiceRequest {
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
