//! The flush strategies (`FAAS_OTEL_EXTENSION_FLUSH`) end to end: the real binary, the
//! emulator's journal and an upstream that answers every request after 30 ms.
//!
//! Lambda bills an extension from the function's response until the extension asks for the
//! next event. The tests check the STRUCTURE on the shared sequence numbers, never a duration:
//! under `end` an invocation's spans reach the upstream between the function's response and
//! the extension's next `next`; under `periodic` (and `adaptive` once steady) they reach it
//! while the NEXT invocation runs (between its INVOKE and the function's response), and the
//! extension asks for the next event before the function answers, so nothing is sent between
//! a response and the extension's `next`; under every strategy every
//! span arrives, exactly once, by the end of SHUTDOWN. The billed post-invoke times are
//! printed (median per strategy) for the record, not asserted.
#![allow(clippy::unwrap_used)]

mod harness;

use std::time::Duration;

use faas_testkit::otlp::OtlpReceiver;
use lambda_emulator::Logged;

use faas_testkit::{PATIENCE, wait_until_async};
use harness::{
    World, answer_of, delivery_of, entry, function_spans, invoke, median, next_after, request_id,
    requests_with, start_delayed, wait_upstream_has,
};

/// The upstream's round trip.
const UPSTREAM_DELAY: Duration = Duration::from_millis(30);
/// Spans per invocation.
const SPANS: usize = 3;
/// `FAAS_OTEL_EXTENSION_WAIT_MS` of the scenarios whose extension asks for the next event
/// before it has the data: longer than the test kit's patience.
const LONG_WAIT_MS: &str = "60000";

/// One invocation as the journal saw it.
struct Cycle {
    id: String,
    /// The INVOKE's delivery to the extension.
    delivered: u64,
    /// The function's response.
    answered: Logged,
    /// The extension's first `next` after the INVOKE's delivery (after the response when it
    /// exports at the end; before it under `periodic` and `adaptive` once steady).
    next: Logged,
}

impl Cycle {
    /// The time Lambda bills the extension for after the response.
    fn billed(&self) -> Duration {
        self.next.at.saturating_duration_since(self.answered.at)
    }
}

/// Plays invocation `i`: the runtime takes it, works until the upstream holds the spans of
/// invocation `work_until` (when given: the export running while the function runs), answers,
/// then flushes its spans to the extension (as faas-aws does right after the response).
///
/// `early`: the extension is expected to ask for its next event before it has the function's
/// data, so the function answers only once it did (at most the test kit's patience). The
/// scenarios that say so set `FAAS_OTEL_EXTENSION_WAIT_MS` beyond that patience (and the
/// invocation's deadline is 30 s away), so an extension that waited for the data first would
/// fail the wait instead of racing the test.
async fn cycle(world: &World, i: usize, work_until: Option<usize>, early: bool) -> Cycle {
    let id = request_id(i);
    world.lambda.invoke(invoke(&id));
    assert_eq!(world.extension.runtime_next().await, id);
    if let Some(previous) = work_until {
        wait_upstream_has(&world.upstream, &request_id(previous)).await;
    }
    let early_next = if early {
        let delivered = wait_until_async("the INVOKE's delivery", PATIENCE, || {
            let entries = world.lambda.entries();
            entries.iter().find(|l| delivery_of(&id)(l)).map(|l| l.seq)
        })
        .await
        .unwrap();
        Some(next_after(&world.lambda, delivered).await)
    } else {
        None
    };
    world.extension.runtime_respond(&id).await;
    let spans = function_spans(&id, i as u128 + 1, SPANS);
    let (status, answer) = world.extension.post_traces(&spans).await;
    assert_eq!((status, answer.partial_success), (200, None));
    let answered = entry(&world.lambda, answer_of(&id));
    let delivered = entry(&world.lambda, delivery_of(&id)).seq;
    let next = match early_next {
        Some(next) => next,
        None => next_after(&world.lambda, delivered).await,
    };
    Cycle {
        id,
        delivered,
        answered,
        next,
    }
}

/// The sequence numbers of the upstream requests carrying spans of `id`.
fn arrivals(upstream: &OtlpReceiver, id: &str) -> Vec<u64> {
    requests_with(upstream, id).iter().map(|r| r.seq).collect()
}

/// `c`'s spans reached the upstream after the response, before the extension's `next`.
fn assert_exported_at_end(upstream: &OtlpReceiver, c: &Cycle) {
    let at = arrivals(upstream, &c.id);
    assert!(!at.is_empty(), "{}: not exported", c.id);
    assert!(
        at.iter().all(|s| c.answered.seq < *s && *s < c.next.seq),
        "{}: exported at {at:?}, response at {}, next at {}",
        c.id,
        c.answered.seq,
        c.next.seq
    );
}

/// `c`'s spans reached the upstream while `during` ran: after its INVOKE, before its response.
fn assert_exported_during(upstream: &OtlpReceiver, c: &Cycle, during: &Cycle) {
    let at = arrivals(upstream, &c.id);
    assert!(!at.is_empty(), "{}: not exported", c.id);
    assert!(
        at.iter()
            .all(|s| during.delivered < *s && *s < during.answered.seq),
        "{}: exported at {at:?}, during {} from {} to {}",
        c.id,
        during.id,
        during.delivered,
        during.answered.seq
    );
}

/// The extension asked for the next event before the function answered `c`: Lambda ends the
/// invocation when the function asks, so the extension added no time to it.
fn assert_next_before_the_response(c: &Cycle) {
    assert!(
        c.delivered < c.next.seq && c.next.seq < c.answered.seq,
        "{}: delivered at {}, extension's next at {}, response at {}",
        c.id,
        c.delivered,
        c.next.seq,
        c.answered.seq
    );
}

/// No trace request reached the upstream between `c`'s response and the extension's `next`.
fn assert_nothing_billed(upstream: &OtlpReceiver, c: &Cycle) {
    let billed: Vec<u64> = upstream
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .map(|r| r.seq)
        .filter(|s| c.answered.seq < *s && *s < c.next.seq)
        .collect();
    assert!(billed.is_empty(), "{}: exports {billed:?} billed", c.id);
}

/// Shuts down and checks every invocation's spans arrived exactly once.
fn assert_all_delivered(world: &mut World, invocations: usize) -> u64 {
    world.extension.shut_down(&world.lambda);
    let shutdown = entry(&world.lambda, delivery_of("SHUTDOWN")).seq;
    let spans = world.upstream.spans();
    assert_eq!(spans.len(), invocations * SPANS);
    let ids: std::collections::HashSet<_> = spans.iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(ids.len(), invocations * SPANS, "no span twice");
    shutdown
}

fn report(strategy: &str, phase: &str, cycles: &[&Cycle]) {
    let billed: Vec<Duration> = cycles.iter().map(|c| c.billed()).collect();
    eprintln!(
        "billed post-invoke time: strategy={strategy} {phase}: median {:?} over {} invocations (min {:?}, max {:?}); upstream {UPSTREAM_DELAY:?}",
        median(&billed),
        billed.len(),
        billed.iter().min().copied().unwrap_or_default(),
        billed.iter().max().copied().unwrap_or_default(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_exports_after_every_invocation_before_the_next_event() {
    let mut world = start_delayed(UPSTREAM_DELAY, &[("FAAS_OTEL_EXTENSION_FLUSH", "end")]);
    let mut cycles = Vec::new();
    for i in 0..12 {
        cycles.push(cycle(&world, i, None, false).await);
    }
    for c in &cycles {
        assert_exported_at_end(&world.upstream, c);
    }
    assert_all_delivered(&mut world, cycles.len());
    report("end", "all", &cycles.iter().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_exports_during_the_next_invocation_and_drains_at_shutdown() {
    let mut world = start_delayed(
        UPSTREAM_DELAY,
        &[
            ("FAAS_OTEL_EXTENSION_FLUSH", "periodic"),
            ("FAAS_OTEL_EXTENSION_WAIT_MS", LONG_WAIT_MS),
        ],
    );
    assert!(PATIENCE < Duration::from_millis(60_000));
    let mut cycles = Vec::new();
    for i in 0..12 {
        cycles.push(cycle(&world, i, i.checked_sub(1), true).await);
    }
    for pair in cycles.windows(2) {
        assert_exported_during(&world.upstream, &pair[0], &pair[1]);
    }
    for c in &cycles {
        assert_nothing_billed(&world.upstream, c);
        assert_next_before_the_response(c);
    }
    let last = cycles.last().unwrap();
    assert!(arrivals(&world.upstream, &last.id).is_empty());
    let shutdown = assert_all_delivered(&mut world, cycles.len());
    let drained = arrivals(&world.upstream, &last.id);
    assert!(
        !drained.is_empty() && drained.iter().all(|s| *s > shutdown),
        "{drained:?}"
    );
    report("periodic", "all", &cycles.iter().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_exports_at_the_end_first_then_during_the_next_invocation() {
    // The default: no FAAS_OTEL_EXTENSION_FLUSH.
    let mut world = start_delayed(
        UPSTREAM_DELAY,
        &[("FAAS_OTEL_EXTENSION_WAIT_MS", LONG_WAIT_MS)],
    );
    let mut cycles = Vec::new();
    // The 11th invocation (i = 10) follows 10 short gaps: from there on, in the background.
    for i in 0..16 {
        let work_until = (i >= 11).then(|| i - 1);
        cycles.push(cycle(&world, i, work_until, i >= 10).await);
    }
    for c in &cycles[..10] {
        assert_exported_at_end(&world.upstream, c);
    }
    for pair in cycles[10..].windows(2) {
        assert_exported_during(&world.upstream, &pair[0], &pair[1]);
    }
    for c in &cycles[10..] {
        assert_nothing_billed(&world.upstream, c);
        assert_next_before_the_response(c);
    }
    for c in &cycles[..10] {
        assert!(c.answered.seq < c.next.seq, "{}: exports at its end", c.id);
    }
    let shutdown = assert_all_delivered(&mut world, cycles.len());
    let last = cycles.last().unwrap();
    assert!(
        arrivals(&world.upstream, &last.id)
            .iter()
            .all(|s| *s > shutdown)
    );
    report(
        "adaptive",
        "first 10",
        &cycles[..10].iter().collect::<Vec<_>>(),
    );
    report(
        "adaptive",
        "steady",
        &cycles[10..].iter().collect::<Vec<_>>(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_exports_at_the_end_again_after_a_long_gap() {
    let mut world = start_delayed(
        UPSTREAM_DELAY,
        &[
            ("FAAS_OTEL_EXTENSION_FLUSH", "adaptive"),
            ("FAAS_OTEL_EXTENSION_ADAPTIVE_GAP_MS", "1500"),
        ],
    );
    let mut cycles = Vec::new();
    for i in 0..12 {
        let work_until = (i >= 11).then(|| i - 1);
        cycles.push(cycle(&world, i, work_until, false).await);
    }
    // A gap longer than FAAS_OTEL_EXTENSION_ADAPTIVE_GAP_MS: the environment may stay frozen
    // for long again, so this invocation exports at its end; what the previous one left is
    // sent while the function runs.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let after_gap = cycle(&world, 12, Some(11), false).await;
    assert_exported_during(&world.upstream, &cycles[11], &after_gap);
    assert_exported_at_end(&world.upstream, &after_gap);
    cycles.push(after_gap);
    assert_all_delivered(&mut world, cycles.len());
}

/// One export sends its signals at once: with an upstream that answers each request only after
/// a second, an `end` export that sent its logs after its spans had been answered would put at
/// least that second between their arrivals. Both arrive within the same second, so an
/// invocation is billed one upstream round trip, not one per signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_sends_its_signals_at_once() {
    use faas_testkit::otlp::proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use faas_testkit::otlp::proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use prost::Message as _;

    const SLOW: Duration = Duration::from_secs(1);
    let mut world = start_delayed(SLOW, &[("FAAS_OTEL_EXTENSION_FLUSH", "end")]);
    let id = request_id(0);
    world.lambda.invoke(invoke(&id));
    assert_eq!(world.extension.runtime_next().await, id);
    world.extension.runtime_respond(&id).await;
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    severity_text: "INFO".into(),
                    attributes: vec![faas_testkit::otlp::kv("faas.invocation_id", &id)],
                    ..LogRecord::default()
                }],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    let posted = world
        .extension
        .http
        .post(format!("http://{}/v1/logs", world.extension.otlp))
        .header("content-type", "application/x-protobuf")
        .body(logs.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 200);
    let (status, _) = world
        .extension
        .post_traces(&function_spans(&id, 1, SPANS))
        .await;
    assert_eq!(status, 200);
    let answered = entry(&world.lambda, answer_of(&id));
    let next = next_after(&world.lambda, answered.seq).await;

    let requests = world.upstream.requests();
    let in_export: Vec<_> = requests
        .iter()
        .filter(|r| answered.seq < r.seq && r.seq < next.seq)
        .collect();
    let paths: Vec<&str> = in_export.iter().map(|r| r.path.as_str()).collect();
    assert!(
        paths.contains(&"/v1/traces") && paths.contains(&"/v1/logs"),
        "{paths:?}"
    );
    let first = in_export.iter().map(|r| r.at).min().unwrap();
    let last = in_export.iter().map(|r| r.at).max().unwrap();
    assert!(
        last.saturating_duration_since(first) < SLOW,
        "{paths:?}: {:?} between the first and the last request",
        last.saturating_duration_since(first)
    );
    assert_eq!(world.upstream.log_records().len(), 1);
    assert_all_delivered(&mut world, 1);
}
