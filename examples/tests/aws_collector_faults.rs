//! The example HTTP function under the scripted Lambda emulator while its collector is out:
//! it refuses (503) the first five invocations' exports, then comes back. Nothing is lost:
//! the spans of the outage leave with a later flush, at the latest with the SIGTERM drain.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use faas_testkit::otlp::proto::tonic::common::v1::any_value::Value as Any;
use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::{OtlpReceiver, attribute_map};
use faas_testkit::{Process, Reply};
use lambda_emulator::{InvokeEvent, ScriptedLambda};

const OUTAGE: usize = 5;

/// The log stream and group Lambda names for the function.
const LOG: [(&str, &str); 2] = [
    ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]0123"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders"),
];

/// The function `aws-http-api` started as Lambda starts a runtime, exporting to `endpoint`.
fn start(lambda: &ScriptedLambda, endpoint: &str, extra: &[(&str, &str)]) -> Process {
    let vars = [&LOG[..], extra].concat();
    support::start_runtime(env!("CARGO_BIN_EXE_aws-http-api"), lambda, endpoint, &vars)
}

/// `GET /hello` through API Gateway (HTTP API, payload 2.0), with a fresh request id.
fn get_hello(api: &ScriptedLambda) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    let answer = api.invoke_and_answer(
        InvokeEvent::new(format!("00000000-0000-4000-8000-{n:012}"))
            .payload(support::http_api_get("/hello"))
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
    let api = support::scripted_lambda(1);
    let mut function = start(&api, &collector.url(), &[]);
    let mut request_ids: Vec<String> = (0..OUTAGE).map(|_| get_hello(&api)).collect();
    api.wait_runtime_nexts(OUTAGE + 1);
    assert!(collector.request_count() >= 1, "the first flush tried");
    assert_eq!(collector.span_count(), 0, "the outage: nothing accepted");

    collector.set_default(Reply::Accept);
    request_ids.push(get_hello(&api));
    api.wait_runtime_nexts(OUTAGE + 2);

    // What Lambda does before it stops an environment with extensions: SIGTERM.
    let exit = function
        .terminate_and_wait(Duration::from_secs(10))
        .unwrap();
    assert_eq!(exit.code(), Some(0), "{}", function.stderr());
    assert_everything_arrived_once(&collector, &request_ids);
}

#[test]
fn refused_for_five_invocations_then_back_the_spans_leave_with_the_next_flush_after_the_backoff() {
    let collector = OtlpReceiver::answering(Reply::status(503)).unwrap();
    let api = support::scripted_lambda(1);
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
    let api = support::scripted_lambda(1);
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
    let exit = function
        .terminate_and_wait(Duration::from_secs(10))
        .unwrap();
    assert_eq!(exit.code(), Some(0), "{}", function.stderr());
    assert_eq!(collector.request_count(), 2, "the final attempt");
    assert_everything_arrived_once(&collector, &request_ids);
}

#[test]
fn sigterm_during_a_stalled_flush_waits_for_it_then_delivers_its_spans() {
    let collector = OtlpReceiver::answering(Reply::Stall).unwrap();
    let api = support::scripted_lambda(1);
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
    let exit = function
        .terminate_and_wait(Duration::from_secs(20))
        .unwrap();
    assert_eq!(exit.code(), Some(0), "{}", function.stderr());
    // The drain waited for the stalled flush, which put its batch back, then sent it.
    assert_eq!(collector.request_count(), 2);
    assert_everything_arrived_once(&collector, &request_ids);
}
