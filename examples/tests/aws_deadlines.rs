//! The bad moments of a Lambda invocation, with the real function binary: faas-aws's
//! `deadlines` example built with the `dev-abort` profile (the release profile's
//! `panic = "abort"` on a dev build), exporting to the test kit's OTLP receiver.
//!
//! - a handler that hangs past its deadline under the full emulator, which kills the
//!   environment at the deadline as Lambda does: the invocation span and its open child
//!   arrive before the kill, marked as a timeout, once;
//! - a handler that finishes just after its watchdog fired: recorded once, and the function
//!   goes on serving;
//! - a panic, which aborts the process: the exception and its location arrive first;
//! - `faas init` ends at the runtime's first `/next` (the scripted emulator's journal), not at
//!   the first event.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faas_testkit::Process;
use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::proto::tonic::trace::v1::status::StatusCode;
use faas_testkit::otlp::{OtlpReceiver, assert_attrs, attr, hex, int_attr, str_attr};
use lambda_emulator::{Emulator, FunctionSpec, InvokeEvent, InvokeOptions, ScriptedLambda};

/// The example built once for this test binary with `--profile dev-abort` (a nested cargo
/// build: that profile has its own target directory, so the test build is left alone), copied
/// to a private path (another build may replace the original while the tests run).
fn deadlines_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let built = support::cargo_built(
                &[
                    "-p",
                    "faas-aws",
                    "--example",
                    "deadlines",
                    "--profile",
                    "dev-abort",
                ],
                "deadlines",
            );
            support::private_copy(&built, "faas-otel-deadlines")
        })
        .clone()
}

/// The function `deadlines` (timeout `timeout`) under the full emulator, exporting to a new
/// receiver, with `extra` variables.
fn emulated(timeout: Duration, extra: &[(&str, &str)]) -> (OtlpReceiver, Emulator) {
    let collector = OtlpReceiver::start().unwrap();
    let emulator = Emulator::start("deadlines").unwrap();
    let mut spec = FunctionSpec::new(deadlines_binary());
    spec.timeout = timeout;
    spec.env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url().as_str()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    emulator.spawn(spec).unwrap();
    emulator.wait_ready(Duration::from_secs(30)).unwrap();
    (collector, emulator)
}

fn status(span: &Span) -> (i32, String) {
    let status = span.status.clone().unwrap_or_default();
    (status.code, status.message)
}

const ERROR: i32 = StatusCode::Error as i32;

#[test]
fn a_handler_hung_past_its_deadline_arrives_as_a_timeout_before_the_kill() {
    let (collector, emulator) = emulated(Duration::from_secs(2), &[]);
    let result = emulator
        .invoke(br#"{"sleep_ms": 60000}"#, InvokeOptions::default())
        .unwrap();
    // The emulator ended the invocation at its deadline and killed the process, as Lambda does.
    let error = result.error.clone().unwrap();
    assert_eq!(error.error_type, "Sandbox.Timedout", "{}", result.text());

    let invocation = collector.wait_for_span("deadlines", |_| true).unwrap().span;
    let hung = collector.wait_for_span("slow call", |_| true).unwrap().span;
    assert_eq!(collector.spans_named("deadlines").len(), 1);
    assert_eq!(collector.spans_named("slow call").len(), 1);
    assert_eq!(
        status(&invocation),
        (ERROR, "invocation timed out".to_owned())
    );
    assert_attrs(
        &invocation.attributes,
        &[
            ("error.type", "timeout"),
            ("faas.invocation_id", result.request_id.as_str()),
            ("faas.coldstart", "true"),
        ],
    );
    assert_eq!(
        status(&hung),
        (ERROR, "the invocation timed out".to_owned())
    );
    assert_eq!(
        attr(&hung.attributes, "error.type").as_deref(),
        Some("timeout")
    );
    assert_eq!(hex(&hung.parent_span_id), hex(&invocation.span_id));
    assert_eq!(hung.trace_id, invocation.trace_id);
    // Ended before the deadline, by the margin (default: the 250 ms flush budget + 50 ms).
    assert!(hung.end_time_unix_nano <= invocation.end_time_unix_nano);
    assert!(collector.spans_named("faas init").len() == 1);
    // The watchdog's flush forces the metrics out: one timeout, one invocation.
    let timeouts = collector.metric_sum("faas.timeouts", "faas.trigger", "other");
    assert_eq!(timeouts, 1);
}

#[test]
fn a_handler_that_finishes_after_its_watchdog_fired_is_recorded_once() {
    // Deadline 3 s, margin 1.5 s: the watchdog fires at 1.5 s, the handler is done at 2 s.
    let (collector, emulator) = emulated(
        Duration::from_secs(3),
        &[("FAAS_OTEL_TIMEOUT_MARGIN_MS", "2000")],
    );
    let late = emulator
        .invoke(br#"{"sleep_ms": 2000}"#, InvokeOptions::default())
        .unwrap();
    assert_eq!(late.error, None, "{}", late.text());
    assert_eq!(late.text(), r#"{"slept_ms":2000}"#);
    // The function goes on: the next invocation is traced as usual.
    let next = emulator
        .invoke(br#"{"hello": 1}"#, InvokeOptions::default())
        .unwrap();
    assert_eq!(next.text(), r#"{"hello":1}"#);
    collector
        .wait_for_span("deadlines", |s| {
            str_attr(&s.attributes, "faas.invocation_id") == Some(next.request_id.as_str())
        })
        .unwrap();
    emulator.shutdown().unwrap();

    let invocations = collector.spans_named("deadlines");
    let with_id = |id: &str| {
        invocations
            .iter()
            .filter(|s| str_attr(&s.attributes, "faas.invocation_id") == Some(id))
            .collect::<Vec<_>>()
    };
    let timed_out = with_id(&late.request_id);
    assert_eq!(
        timed_out.len(),
        1,
        "exactly one span for the late invocation"
    );
    assert_eq!(
        attr(&timed_out[0].attributes, "error.type").as_deref(),
        Some("timeout")
    );
    assert_eq!(status(timed_out[0]).0, ERROR);
    let slow = collector.spans_named("slow call");
    assert_eq!(slow.len(), 1, "the child's late end is not recorded again");
    assert_eq!(
        attr(&slow[0].attributes, "error.type").as_deref(),
        Some("timeout")
    );
    let fine = with_id(&next.request_id);
    assert_eq!(fine.len(), 1);
    assert_eq!(attr(&fine[0].attributes, "error.type"), None);
    assert_ne!(status(fine[0]).0, ERROR);
    assert_eq!(invocations.len(), 2);
}

#[test]
fn a_panic_under_panic_abort_is_recorded_before_the_process_aborts() {
    let (collector, emulator) = emulated(Duration::from_secs(10), &[]);
    let result = emulator
        .invoke(br#"{"panic": "card declined"}"#, InvokeOptions::default())
        .unwrap();
    // The process aborted (no unwinding, no error response of the runtime's own).
    let error = result.error.clone().unwrap();
    assert_eq!(error.error_type, "Runtime.ExitError", "{}", result.text());
    assert!(result.text().contains("SIGABRT"), "{}", result.text());

    let invocation = collector.wait_for_span("deadlines", |_| true).unwrap().span;
    let charge = collector
        .wait_for_span("charge card", |_| true)
        .unwrap()
        .span;
    assert_eq!(status(&invocation), (ERROR, "card declined".to_owned()));
    assert_eq!(
        attr(&invocation.attributes, "error.type").as_deref(),
        Some("panic")
    );
    assert_eq!(invocation.events.len(), 1);
    let exception = &invocation.events[0];
    assert_eq!(exception.name, "exception");
    assert_attrs(
        &exception.attributes,
        &[
            ("exception.type", "panic"),
            ("exception.message", "card declined"),
        ],
    );
    let file = str_attr(&exception.attributes, "code.file.path").unwrap();
    assert!(file.ends_with("examples/deadlines.rs"), "{file}");
    assert!(int_attr(&exception.attributes, "code.line.number").unwrap() > 0);
    assert_eq!(hex(&charge.parent_span_id), hex(&invocation.span_id));
    assert_eq!(
        attr(&charge.attributes, "error.type").as_deref(),
        Some("panic")
    );
    assert_eq!(status(&charge).0, ERROR);
    assert_eq!(collector.spans_named("deadlines").len(), 1);
}

#[test]
fn faas_init_ends_at_the_first_next_not_at_the_first_event() {
    // Instants of this process against the wall clock, for the journal's entries.
    let (instant0, wall0) = (Instant::now(), SystemTime::now());
    let wall = |at: Instant| wall0 + at.saturating_duration_since(instant0);
    let nanos = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;

    let collector = OtlpReceiver::start().unwrap();
    let lambda = ScriptedLambda::start().unwrap();
    let mut command = Command::new(deadlines_binary());
    command
        .env_clear()
        .envs(lambda.env())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .env("OTEL_METRICS_EXPORTER", "none");
    let _function = Process::spawn(command).unwrap();
    let first_next = lambda.wait_runtime_nexts(1);
    // The function waits for its first event; that wait is not initialization.
    std::thread::sleep(Duration::from_millis(300));
    let answer = lambda.invoke_and_answer(
        InvokeEvent::new("00000000-0000-4000-8000-000000000001")
            .payload(r#"{"hello": 1}"#)
            .without_trace_header(),
    );
    assert_eq!(answer.error, None, "{}", answer.text());
    let delivered = answer.timings.delivered.unwrap();
    lambda.wait_runtime_nexts(2);

    let init = collector.wait_for_span("faas init", |_| true).unwrap().span;
    let ready = collector
        .wait_for_span("faas init ready", |_| true)
        .unwrap()
        .span;
    let invocation = collector.spans_named("orders").pop().unwrap();
    assert_eq!(
        attr(&init.attributes, "faas_otel.init.end").as_deref(),
        Some("ready_for_event")
    );
    // The clocks of the two processes agree to well within a millisecond (one wall clock, each
    // mapped from its own monotonic clock); the 300 ms wait lies far outside that.
    let slack = Duration::from_millis(1).as_nanos() as u64;
    assert!(
        init.end_time_unix_nano <= nanos(wall(first_next.at)) + slack,
        "faas init ended after the runtime asked /next"
    );
    assert!(
        init.end_time_unix_nano + slack < nanos(wall(delivered)),
        "faas init ended before the event was delivered"
    );
    assert_eq!(ready.end_time_unix_nano, init.end_time_unix_nano);
    assert!(invocation.start_time_unix_nano + slack >= nanos(wall(delivered)));
    let init_s: f64 = attr(&init.attributes, "faas_otel.init.duration_s")
        .unwrap()
        .parse()
        .unwrap();
    let span_s = (init.end_time_unix_nano - init.start_time_unix_nano) as f64 / 1e9;
    assert!((init_s - span_s).abs() < 1e-3, "{init_s} vs {span_s}");
}
