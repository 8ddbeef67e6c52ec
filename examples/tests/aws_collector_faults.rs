//! The example HTTP function under the scripted Lambda emulator while its collector is out:
//! it refuses (503) the first five invocations' exports, then comes back. Nothing is lost:
//! the spans of the outage leave with a later flush, at the latest with the SIGTERM drain.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use faas_testkit::otlp::proto::tonic::common::v1::any_value::Value as Any;
use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::{OtlpReceiver, attribute_map};
use faas_testkit::{Process, Reply};
use lambda_emulator::{InvokeEvent, ScriptedLambda, ScriptedOptions};

const OUTAGE: usize = 5;

/// The function `aws-http-api` started as Lambda starts a runtime, exporting to `endpoint`.
fn start(lambda: &ScriptedLambda, endpoint: &str, extra: &[(&str, &str)]) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aws-http-api"));
    command
        .env_clear()
        .envs(lambda.env())
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]0123")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_METRICS_EXPORTER", "none");
    for (k, v) in extra {
        command.env(k, v);
    }
    Process::spawn(command).unwrap()
}

fn lambda() -> ScriptedLambda {
    ScriptedLambda::start_with(ScriptedOptions {
        region: "eu-west-1".into(),
        ..ScriptedOptions::default()
    })
    .unwrap()
}

/// `GET /hello` through API Gateway (HTTP API, payload 2.0), with a fresh request id.
fn get_hello(api: &ScriptedLambda) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /hello",
        "rawPath": "/hello",
        "rawQueryString": "",
        "headers": {"host": "abc123.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "http": {
                "method": "GET",
                "path": "/hello",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "GET /hello",
            "stage": "$default",
            "timeEpoch": 1795716000000u64
        },
        "isBase64Encoded": false
    });
    let answer = api.invoke_and_answer(
        InvokeEvent::new(format!("00000000-0000-4000-8000-{n:012}"))
            .payload(event.to_string())
            .without_trace_header(),
    );
    assert!(answer.error.is_none(), "{}", answer.text());
    answer.request_id
}

fn invocation_id(span: &Span) -> String {
    match attribute_map(&span.attributes).get("faas.invocation_id") {
        Some(Any::StringValue(id)) => id.clone(),
        other => panic!("faas.invocation_id: {other:?}"),
    }
}

/// Every span of the run arrived exactly once: one `GET /hello` per request id, in order,
/// one `faas init`, no span id twice, and no flush reported a drop.
fn assert_everything_arrived_once(collector: &OtlpReceiver, request_ids: &[String]) {
    let spans = collector.spans();
    let ids: HashSet<&[u8]> = spans.iter().map(|s| s.span_id.as_slice()).collect();
    assert_eq!(ids.len(), spans.len(), "a span arrived twice");
    let hellos: Vec<String> = collector
        .spans_named("GET /hello")
        .iter()
        .map(invocation_id)
        .collect();
    assert_eq!(hellos, request_ids);
    assert_eq!(collector.spans_named("faas init").len(), 1);
    assert!(
        spans
            .iter()
            .all(|s| !attribute_map(&s.attributes).contains_key("faas_otel.flush.dropped_spans")),
        "no flush dropped anything"
    );
}

#[test]
fn refused_for_five_invocations_then_back_every_span_arrives_by_the_sigterm_drain() {
    let collector = OtlpReceiver::answering(Reply::status(503)).unwrap();
    let api = lambda();
    let mut function = start(&api, &collector.url(), &[]);
    let mut request_ids: Vec<String> = (0..OUTAGE).map(|_| get_hello(&api)).collect();
    api.wait_runtime_nexts(OUTAGE + 1);
    assert!(collector.request_count() >= 1, "the first flush tried");
    assert_eq!(collector.span_count(), 0, "the outage: nothing accepted");

    collector.set_default(Reply::Accept);
    request_ids.push(get_hello(&api));
    api.wait_runtime_nexts(OUTAGE + 2);

    // What Lambda does before it stops an environment with extensions: SIGTERM.
    function.terminate().unwrap();
    let exit = function.wait_exit(Duration::from_secs(10)).unwrap();
    assert_eq!(exit.code(), Some(0), "{}", function.stderr());
    assert_everything_arrived_once(&collector, &request_ids);
}

#[test]
fn refused_for_five_invocations_then_back_the_spans_leave_with_the_next_flush_after_the_backoff() {
    let collector = OtlpReceiver::answering(Reply::status(503)).unwrap();
    let api = lambda();
    let _function = start(
        &api,
        &collector.url(),
        &[
            ("FAAS_OTEL_EXPORT_BACKOFF_MS", "50"),
            ("FAAS_OTEL_EXPORT_BACKOFF_MAX_MS", "50"),
        ],
    );
    let mut request_ids: Vec<String> = (0..OUTAGE).map(|_| get_hello(&api)).collect();
    api.wait_runtime_nexts(OUTAGE + 1);
    let refused = collector.request_count();
    assert!((1..=OUTAGE).contains(&refused), "{refused} attempts");

    collector.set_default(Reply::Accept);
    // Outlive the back-off, then one more invocation: its flush probes and carries all.
    std::thread::sleep(Duration::from_millis(120));
    request_ids.push(get_hello(&api));
    api.wait_runtime_nexts(OUTAGE + 2);
    assert_eq!(
        collector.traces().len(),
        1,
        "one request carried everything"
    );
    assert_eq!(collector.request_count(), refused + 1);
    assert_everything_arrived_once(&collector, &request_ids);
}

#[test]
fn a_stalled_collector_gets_one_attempt_over_ten_invocations_and_the_sigterm_drain_delivers_all() {
    let collector = OtlpReceiver::answering(Reply::Stall).unwrap();
    let api = lambda();
    let mut function = start(
        &api,
        &collector.url(),
        // A back-off longer than the test: every flush after the stalled one defers.
        &[
            ("FAAS_OTEL_EXPORT_BACKOFF_MS", "600000"),
            ("FAAS_OTEL_FLUSH_TIMEOUT_MS", "200"),
        ],
    );
    let request_ids: Vec<String> = (0..10).map(|_| get_hello(&api)).collect();
    api.wait_runtime_nexts(11);
    // One stalled request in all: the nine other flushes made no attempt.
    assert_eq!(collector.request_count(), 1);

    collector.set_default(Reply::Accept);
    function.terminate().unwrap();
    let exit = function.wait_exit(Duration::from_secs(10)).unwrap();
    assert_eq!(exit.code(), Some(0), "{}", function.stderr());
    assert_eq!(collector.request_count(), 2, "the final attempt");
    assert_everything_arrived_once(&collector, &request_ids);
}

#[test]
fn sigterm_during_a_stalled_flush_waits_for_it_then_delivers_its_spans() {
    let collector = OtlpReceiver::answering(Reply::Stall).unwrap();
    let api = lambda();
    let mut function = start(
        &api,
        &collector.url(),
        &[
            ("FAAS_OTEL_FLUSH_TIMEOUT_MS", "1500"),
            ("FAAS_OTEL_SHUTDOWN_TIMEOUT_MS", "5000"),
        ],
    );
    let request_ids = vec![get_hello(&api)];
    // The flush after the invocation is in flight, its request hanging, holding the spans.
    collector
        .wait_for_requests(1, Duration::from_secs(10))
        .unwrap();
    collector.set_default(Reply::Accept);
    function.terminate().unwrap();
    let exit = function.wait_exit(Duration::from_secs(20)).unwrap();
    assert_eq!(exit.code(), Some(0), "{}", function.stderr());
    // The drain waited for the stalled flush, which put its batch back, then sent it.
    assert_eq!(collector.request_count(), 2);
    assert_everything_arrived_once(&collector, &request_ids);
}
