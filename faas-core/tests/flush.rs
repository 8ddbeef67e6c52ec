//! The bounded flush against real local HTTP collectors that accept, refuse, stall and fail,
//! under both tokio runtime flavours: what a fault costs (one budget, then the back-off), what
//! it keeps (every span that fits, requeued), one export at a time under concurrency, and the
//! final drain.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
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

/// A back-off no test outlives: every flush after a failure is deferred.
const LONG_BACKOFF: (&str, &str) = ("FAAS_OTEL_EXPORT_BACKOFF_MS", "600000");
/// No back-off: every flush attempts.
const NO_BACKOFF: (&str, &str) = ("FAAS_OTEL_EXPORT_BACKOFF_MS", "0");

fn telemetry(endpoint: &str, extra: &[(&str, &str)]) -> Telemetry {
    let budget = BUDGET_MS.to_string();
    let defaults = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("FAAS_OTEL_FLUSH_TIMEOUT_MS", budget.as_str()),
        ("OTEL_METRICS_EXPORTER", "none"),
    ];
    // `extra` overrides the defaults.
    let pairs: Vec<(String, String)> = defaults
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .chain(extra.iter())
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
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

async fn refused_collector_returns_quickly_and_keeps_the_spans() {
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
    // A refused connection is transient: the spans wait for a later flush.
    assert_eq!(report.dropped_spans, 0);
    assert_eq!(report.requeued_spans, spans as u64);
    assert!(report.error.is_some(), "{report:?}");
    assert_eq!(report.backoff, Some(Duration::from_secs(1)), "the default");
    assert_eq!(telemetry.queued_spans(), spans);
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
    assert_eq!(report.dropped_spans, 0);
    assert_eq!(report.requeued_spans, spans as u64);
    assert_eq!(report.budget, Duration::from_millis(BUDGET_MS));
    // The next invocation is not held up by the previous stalled request: it is backing off
    // and makes no attempt at all.
    let more = invoke(&telemetry, 0);
    let report = telemetry.flush(None).await;
    assert!(!report.timed_out, "{report:?}");
    assert_eq!(report.dropped_spans, 0);
    assert_eq!(report.deferred_spans, (spans + more) as u64);
    assert!(report.backoff.is_some(), "{report:?}");
    assert_eq!(collector.request_count(), 1);
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
    // The oldest went first: the children end first, the invocation span last.
    assert_eq!(
        collector.span_names(),
        ["child 5", "child 6", "child 7", "child 8", "fn"]
    );
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

/// Ends one span called `name` (sampled: a root under the default sampler).
fn end_named(telemetry: &Telemetry, name: &str) {
    use opentelemetry::trace::{Span as _, Tracer};
    let mut span = telemetry.tracer().start(name.to_owned());
    span.end();
}

/// Waits, yielding to the runtime (the flush in flight may run on this very thread), until
/// the collector got its first request.
async fn first_request(collector: &OtlpReceiver) {
    for _ in 0..2000 {
        if collector.request_count() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no request reached the collector");
}

/// The accepted spans' ids; fails on a span received twice.
fn received_once(collector: &OtlpReceiver) -> HashSet<Vec<u8>> {
    let spans = collector.spans();
    let ids: HashSet<Vec<u8>> = spans.iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(ids.len(), spans.len(), "a span arrived twice");
    ids
}

async fn refused_for_three_flushes_then_back_delivers_every_span_once() {
    let collector = OtlpReceiver::builder()
        .script([Reply::status(503), Reply::status(503), Reply::Close])
        .start()
        .unwrap();
    let telemetry = telemetry(&collector.url(), &[NO_BACKOFF]);
    let mut created = 0;
    let mut reports = Vec::new();
    for _ in 0..5 {
        created += invoke(&telemetry, 2);
        reports.push(telemetry.flush(None).await);
    }
    let requeued: Vec<u64> = reports.iter().map(|r| r.requeued_spans).collect();
    let exported: Vec<u64> = reports.iter().map(|r| r.exported_spans).collect();
    // Each failed flush carries the previous ones' spans along; the first success takes all.
    assert_eq!(requeued, [3, 6, 9, 0, 0]);
    assert_eq!(exported, [0, 0, 0, 12, 3]);
    assert!(reports.iter().all(|r| r.dropped_spans == 0), "{reports:?}");
    assert_eq!(collector.request_count(), 5);
    assert_eq!(received_once(&collector).len(), created);
    assert_eq!(telemetry.queued_spans(), 0);
}

async fn a_stalled_collector_gets_one_attempt_during_the_backoff_and_shutdown_drains() {
    let collector = OtlpReceiver::answering(Reply::Stall).unwrap();
    let telemetry = telemetry(&collector.url(), &[LONG_BACKOFF]);
    let mut created = 0;
    let mut reports = Vec::new();
    for _ in 0..10 {
        created += invoke(&telemetry, 1);
        reports.push(telemetry.flush(None).await);
    }
    // One stalled attempt, then nine flushes that try nothing and keep everything.
    assert_eq!(collector.request_count(), 1);
    assert_eq!(reports.iter().filter(|r| r.timed_out).count(), 1);
    assert!(reports[0].timed_out && reports[0].requeued_spans == 2);
    for (i, report) in reports.iter().enumerate().skip(1) {
        assert_eq!(report.deferred_spans, 2 * (i as u64 + 1), "{report:?}");
        assert!(report.backoff.is_some() && report.exported_spans == 0);
    }
    assert!(reports.iter().all(|r| r.dropped_spans == 0));
    assert_eq!(telemetry.queued_spans(), created);

    // The collector comes back; the shutdown attempts despite the back-off.
    collector.set_default(Reply::Accept);
    let report = telemetry.shutdown().await;
    assert_eq!(report.exported_spans, created as u64, "{report:?}");
    assert_eq!(collector.request_count(), 2);
    assert_eq!(received_once(&collector).len(), created);
}

async fn after_the_backoff_interval_the_exporter_probes_and_a_success_resets() {
    let collector = OtlpReceiver::builder()
        .script([Reply::status(503), Reply::status(503)])
        .start()
        .unwrap();
    let telemetry = telemetry(
        &collector.url(),
        &[
            ("FAAS_OTEL_EXPORT_BACKOFF_MS", "5"),
            ("FAAS_OTEL_EXPORT_BACKOFF_MAX_MS", "40"),
        ],
    );
    let created = invoke(&telemetry, 0);
    let first = telemetry.flush(None).await;
    assert_eq!(first.backoff, Some(Duration::from_millis(5)));
    tokio::time::sleep(Duration::from_millis(10)).await;
    let second = telemetry.flush(None).await;
    // The interval doubled after the second failure in a row.
    assert_eq!(
        second.backoff,
        Some(Duration::from_millis(10)),
        "{second:?}"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let third = telemetry.flush(None).await;
    assert_eq!(third.exported_spans, created as u64, "{third:?}");
    assert_eq!(third.backoff, None);
    assert_eq!(collector.request_count(), 3);
    assert_eq!(received_once(&collector).len(), created);
}

async fn a_full_queue_keeps_the_newest_spans_across_a_failed_export_and_counts_the_rest() {
    let collector = OtlpReceiver::builder()
        .script([Reply::status(503)])
        .start()
        .unwrap();
    let telemetry = telemetry(
        &collector.url(),
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "4"),
            NO_BACKOFF,
            ("OTEL_METRICS_EXPORTER", "otlp"),
        ],
    );
    for name in ["a1", "a2", "a3", "a4", "a5", "a6"] {
        end_named(&telemetry, name);
    }
    let failed = telemetry.flush(None).await;
    assert_eq!((failed.dropped_spans, failed.requeued_spans), (2, 4));
    // Two younger spans push the two oldest requeued ones out.
    end_named(&telemetry, "b1");
    end_named(&telemetry, "b2");
    let report = telemetry.shutdown().await;
    assert_eq!((report.dropped_spans, report.exported_spans), (2, 4));
    assert_eq!(collector.span_names(), ["a5", "a6", "b1", "b2"]);
    // Reported once each, in the metric too.
    assert_eq!(
        collector.metric_sum(
            faas_core::pipeline::SPANS_DROPPED_METRIC,
            "error.type",
            faas_core::pipeline::DROP_QUEUE_FULL
        ),
        4
    );
}

async fn a_flush_that_finds_another_in_flight_waits_and_drops_nothing() {
    let collector = OtlpReceiver::builder()
        .script([Reply::Stall])
        .start()
        .unwrap();
    let telemetry = telemetry(&collector.url(), &[LONG_BACKOFF]);
    let first_spans = invoke(&telemetry, 1);
    let in_flight = tokio::spawn({
        let telemetry = telemetry.clone();
        async move { telemetry.flush(None).await }
    });
    first_request(&collector).await;
    // Another invocation ends while the first flush's request hangs.
    let second_spans = invoke(&telemetry, 2);
    let second = telemetry.flush(None).await;
    let first = in_flight.await.unwrap();
    assert!(first.timed_out && first.requeued_spans == first_spans as u64);
    assert!(second.waited_for_in_flight, "{second:?}");
    assert_eq!(
        second.deferred_spans,
        (first_spans + second_spans) as u64,
        "{second:?}"
    );
    assert_eq!(first.dropped_spans + second.dropped_spans, 0);
    assert_eq!(collector.request_count(), 1);
}

async fn shutdown_waits_for_the_flush_in_flight_then_delivers_everything() {
    // What the SIGTERM drain does (`spawn_drain_on_termination` calls `shutdown`).
    let collector = OtlpReceiver::builder()
        .script([Reply::Stall])
        .start()
        .unwrap();
    let telemetry = telemetry(&collector.url(), &[LONG_BACKOFF]);
    let created = invoke(&telemetry, 3);
    let in_flight = tokio::spawn({
        let telemetry = telemetry.clone();
        async move { telemetry.flush(None).await }
    });
    first_request(&collector).await;
    let report = telemetry.shutdown().await;
    let first = in_flight.await.unwrap();
    assert!(first.timed_out, "{first:?}");
    assert!(report.waited_for_in_flight, "{report:?}");
    assert_eq!(report.exported_spans, created as u64, "{report:?}");
    assert_eq!(collector.request_count(), 2);
    assert_eq!(received_once(&collector).len(), created);
}

/// 8 invocations on a multi-thread runtime, each ending its spans and flushing at once,
/// against a collector that fails every other request: every span is delivered exactly once
/// or counted as dropped in exactly one report.
async fn concurrent_flushes_give_exact_counts(queue: &str, backoff: (&str, &str)) {
    let mut script = Vec::new();
    for _ in 0..40 {
        script.extend([Reply::status(503), Reply::Accept]);
    }
    let collector = OtlpReceiver::builder().script(script).start().unwrap();
    // A budget far above what a loopback 503 takes, so that on a loaded machine no export is
    // cut by its budget (a cut export the collector took after all is sent again: at least
    // once) and no flush gives up waiting for the one in flight: the counts stay exact.
    let telemetry = telemetry(
        &collector.url(),
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", queue),
            ("FAAS_OTEL_FLUSH_TIMEOUT_MS", "30000"),
            backoff,
        ],
    );
    let _ = telemetry.cold_start().take();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let telemetry = telemetry.clone();
            tokio::spawn(async move {
                let created = invoke(&telemetry, i % 3 + 1);
                (created, telemetry.flush(None).await)
            })
        })
        .collect();
    let mut created = 0u64;
    let mut dropped = 0u64;
    let mut requeued = 0u64;
    for task in tasks {
        let (n, report) = task.await.unwrap();
        created += n as u64;
        dropped += report.dropped_spans;
        requeued += report.requeued_spans;
    }
    // The first request met a 503: its batch went back to the queue (or, on the small queue,
    // possibly out of it, the younger spans having filled it meanwhile).
    assert!(requeued + dropped > 0);
    if queue == "2048" {
        assert!(requeued > 0);
    }
    let last = telemetry.shutdown().await;
    dropped += last.dropped_spans;
    assert_eq!(telemetry.queued_spans(), 0, "{last:?}");
    let delivered = received_once(&collector).len() as u64;
    assert_eq!(created, 8 + (0..8).map(|i| i % 3 + 1).sum::<u64>());
    assert_eq!(
        delivered + dropped,
        created,
        "delivered {delivered}, dropped {dropped}"
    );
    if queue == "2048" {
        assert_eq!(dropped, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_flushes_without_backoff_deliver_every_span_once() {
    concurrent_flushes_give_exact_counts("2048", NO_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_flushes_with_backoff_deliver_every_span_once() {
    concurrent_flushes_give_exact_counts("2048", LONG_BACKOFF).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_flushes_on_a_small_queue_count_every_drop_once() {
    concurrent_flushes_give_exact_counts("5", NO_BACKOFF).await;
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
    refused_collector_returns_quickly_and_keeps_the_spans,
    refused_for_three_flushes_then_back_delivers_every_span_once,
    a_stalled_collector_gets_one_attempt_during_the_backoff_and_shutdown_drains,
    after_the_backoff_interval_the_exporter_probes_and_a_success_resets,
    a_full_queue_keeps_the_newest_spans_across_a_failed_export_and_counts_the_rest,
    a_flush_that_finds_another_in_flight_waits_and_drops_nothing,
    shutdown_waits_for_the_flush_in_flight_then_delivers_everything,
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
