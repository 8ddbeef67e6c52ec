//! The bounded flush against real local HTTP collectors that accept, refuse, stall and fail,
//! under both tokio runtime flavours.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant, SystemTime};

use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;
use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{RefusedPort, Reply};

const BUDGET_MS: u64 = 300;
/// Generous room above the budget for a loaded CI machine. The failures this guards against
/// are the SDK's hard-coded 5 s flush wait and the exporter's 10 s HTTP timeout.
const SLACK: Duration = Duration::from_millis(700);

fn telemetry(endpoint: &str, extra: &[(&str, &str)]) -> Telemetry {
    let budget = BUDGET_MS.to_string();
    let mut pairs = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("FAAS_OTEL_FLUSH_TIMEOUT_MS", budget.as_str()),
        ("OTEL_METRICS_EXPORTER", "none"),
    ];
    pairs.extend_from_slice(extra);
    let pairs: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Telemetry::builder(LocalEnvironment::named("flush-test"))
        .with_env(Env::from_pairs(pairs))
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
        .unwrap()
}

/// One invocation with `children` child spans: `children + 2` spans in all with the
/// initialization span's phases excluded (the cold start is taken first).
fn invoke(telemetry: &Telemetry, children: usize) -> usize {
    use opentelemetry::trace::{TraceContextExt, Tracer};
    // Take the cold start out of the way so the counts below are exact.
    let _ = telemetry.cold_start().take();
    let span = telemetry.start_invocation(Invocation::new("fn", Trigger::Other));
    for i in 0..children {
        let _child = telemetry
            .tracer()
            .start_with_context(format!("child {i}"), span.context());
    }
    assert!(span.context().span().span_context().is_sampled());
    span.end(Outcome::Ok);
    children + 1
}

async fn refused_collector_returns_quickly_and_counts_drops() {
    let refused = RefusedPort::new().unwrap();
    let telemetry = telemetry(&refused.url(), &[]);
    let spans = invoke(&telemetry, 4);
    let started = Instant::now();
    let report = telemetry.flush(None).await;
    assert!(
        started.elapsed() < Duration::from_millis(BUDGET_MS) + SLACK,
        "{report:?}"
    );
    assert_eq!(report.exported_spans, 0);
    assert_eq!(report.dropped_spans, spans as u64);
    assert!(report.error.is_some(), "{report:?}");
    assert_eq!(telemetry.queued_spans(), 0);
}

async fn stalled_collector_is_cut_at_the_budget() {
    let collector = OtlpReceiver::answering(Reply::Stall).unwrap();
    let telemetry = telemetry(&collector.url(), &[]);
    let spans = invoke(&telemetry, 2);
    let started = Instant::now();
    let report = telemetry.flush(None).await;
    let elapsed = started.elapsed();
    assert!(report.timed_out, "{report:?}");
    assert!(elapsed >= Duration::from_millis(BUDGET_MS), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(BUDGET_MS) + SLACK,
        "{elapsed:?}"
    );
    assert_eq!(report.dropped_spans, spans as u64);
    assert_eq!(report.budget, Duration::from_millis(BUDGET_MS));
    // The next invocation is not held up by the previous stalled request.
    let spans = invoke(&telemetry, 0);
    let report = telemetry.flush(None).await;
    assert!(report.timed_out);
    assert_eq!(report.dropped_spans, spans as u64);
}

async fn failing_collector_reports_the_error() {
    let collector = OtlpReceiver::answering(Reply::status(500)).unwrap();
    let telemetry = telemetry(&collector.url(), &[]);
    let spans = invoke(&telemetry, 3);
    let report = telemetry.flush(None).await;
    assert!(!report.timed_out);
    assert_eq!(report.dropped_spans, spans as u64);
    assert!(
        report.error.as_deref().unwrap_or("").contains("500"),
        "{report:?}"
    );
    assert_eq!(collector.request_count(), 1, "no retry");
}

async fn healthy_collector_receives_every_span() {
    let collector = OtlpReceiver::start().unwrap();
    let telemetry = telemetry(&collector.url(), &[]);
    let mut total = 0;
    for _ in 0..5 {
        total += invoke(&telemetry, 3);
        let report = telemetry.flush(None).await;
        assert!(report.is_complete(), "{report:?}");
    }
    assert_eq!(collector.span_count(), total);
    assert_eq!(collector.paths(), ["/v1/traces"; 5]);
}

async fn past_deadline_still_exports() {
    let collector = OtlpReceiver::start().unwrap();
    let telemetry = telemetry(&collector.url(), &[]);
    let spans = invoke(&telemetry, 1);
    // What `cargo lambda watch` sends: a deadline of 600000 ms after the epoch.
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
    let report = telemetry.flush(Some(deadline)).await;
    assert_eq!(report.budget, Duration::from_millis(BUDGET_MS));
    assert_eq!(report.exported_spans, spans as u64);
    assert_eq!(collector.span_count(), spans);
}

async fn full_queue_drops_and_counts() {
    let collector = OtlpReceiver::start().unwrap();
    let telemetry = telemetry(&collector.url(), &[("OTEL_BSP_MAX_QUEUE_SIZE", "5")]);
    let spans = invoke(&telemetry, 9);
    let report = telemetry.flush(None).await;
    assert_eq!(report.exported_spans, 5);
    assert_eq!(report.dropped_spans, spans as u64 - 5);
    assert_eq!(collector.span_count(), 5);
}

async fn sdk_force_flush_inside_the_runtime_does_not_deadlock() {
    let collector = OtlpReceiver::start().unwrap();
    let telemetry = telemetry(&collector.url(), &[]);
    let spans = invoke(&telemetry, 2);
    // The SDK's synchronous flush, called on a runtime thread.
    telemetry.tracer_provider().force_flush().unwrap();
    assert_eq!(collector.span_count(), spans);
}

async fn disabled_sdk_exports_nothing() {
    let collector = OtlpReceiver::start().unwrap();
    let telemetry = telemetry(&collector.url(), &[("OTEL_SDK_DISABLED", "true")]);
    let span = telemetry.start_invocation(Invocation::new("fn", Trigger::Other));
    span.end(Outcome::Ok);
    let report = telemetry.flush(None).await;
    assert_eq!(report.exported_spans + report.dropped_spans, 0);
    assert_eq!(collector.request_count(), 0);
}

macro_rules! both_flavours {
    ($($name:ident),* $(,)?) => {
        mod current_thread {
            $(#[tokio::test(flavor = "current_thread")]
            async fn $name() { super::$name().await })*
        }
        mod multi_thread {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name().await })*
        }
    };
}

both_flavours!(
    refused_collector_returns_quickly_and_counts_drops,
    stalled_collector_is_cut_at_the_budget,
    failing_collector_reports_the_error,
    healthy_collector_receives_every_span,
    past_deadline_still_exports,
    full_queue_drops_and_counts,
    sdk_force_flush_inside_the_runtime_does_not_deadlock,
    disabled_sdk_exports_nothing,
);

#[test]
fn dropping_the_last_handle_drains_without_a_runtime() {
    let collector = OtlpReceiver::start().unwrap();
    let telemetry = telemetry(&collector.url(), &[]);
    let spans = invoke(&telemetry, 3);
    drop(telemetry);
    assert_eq!(collector.span_count(), spans);
}
