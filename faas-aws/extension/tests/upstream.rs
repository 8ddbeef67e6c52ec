//! An upstream that misbehaves, against the real binary: an absurd `Retry-After`, `413`, a
//! `partial_success`, a redirect, a stall that outlives the SHUTDOWN deadline, and a SHUTDOWN
//! while an export is running. Nothing crashes, nothing waits past a deadline, every item
//! arrives once or is counted in the self-metric `faas_otel.extension.dropped` (attributes
//! `signal` and `faas_otel.drop_reason`).
#![allow(clippy::unwrap_used)]

mod harness;

use std::collections::HashSet;
use std::time::Duration;

use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{PATIENCE, Reply};

use harness::{
    World, dropped, function_spans, invoke, request_id, start, start_answering, start_delayed,
};

/// Plays invocation `i` the way the existing end-to-end tests do: INVOKE, then the function's
/// `spans` spans, then waits for the extension's `nexts`-th `next`.
async fn invocation(world: &World, i: usize, spans: usize, nexts: usize) {
    let id = request_id(i);
    world.lambda.invoke_and_wait(invoke(&id));
    let (status, _) = world
        .extension
        .post_traces(&function_spans(&id, i as u128 + 1, spans))
        .await;
    assert_eq!(status, 200);
    world.lambda.wait_nexts(nexts);
}

/// `(status, spans)` of every `/v1/traces` request, in order.
fn trace_requests(upstream: &OtlpReceiver) -> Vec<(Option<u16>, usize)> {
    upstream
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .map(|r| {
            let spans = r.traces().map_or(0, |t| {
                t.resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .map(|s| s.spans.len())
                    .sum()
            });
            (r.status, spans)
        })
        .collect()
}

fn distinct_spans(upstream: &OtlpReceiver) -> usize {
    let spans = upstream.spans();
    let ids: HashSet<_> = spans.iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(ids.len(), spans.len(), "a span delivered twice");
    spans.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_retry_after_is_clamped_to_the_deadline_not_a_crash() {
    let mut world = start_answering(Reply::Accept, &[("FAAS_OTEL_EXTENSION_FLUSH", "end")]);
    world.upstream.script([
        Reply::status(429).retry_after("18446744073709551615"),
        Reply::status(503).retry_after("Fri, 31 Dec 9999 23:59:59 GMT"),
    ]);
    // Neither wait fits before the deadline: the export gives up at once, the spans stay.
    invocation(&world, 0, 3, 2).await;
    invocation(&world, 1, 3, 3).await;
    assert_eq!(
        trace_requests(&world.upstream),
        [(Some(429), 3), (Some(503), 6)]
    );
    assert!(
        world.extension.process.try_exit().unwrap().is_none(),
        "still running"
    );
    // The SHUTDOWN drain delivers them.
    world.extension.shut_down(&world.lambda);
    assert_eq!(
        trace_requests(&world.upstream),
        [(Some(429), 3), (Some(503), 6), (Some(200), 6)]
    );
    assert_eq!(distinct_spans(&world.upstream), 6);
    assert!(!world.extension.process.stderr().contains("panicked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_413_splits_the_batch_and_sends_the_halves() {
    let mut world = start_answering(Reply::Accept, &[("FAAS_OTEL_EXTENSION_FLUSH", "end")]);
    world
        .upstream
        .script([Reply::status(413), Reply::status(413)]);
    invocation(&world, 0, 8, 2).await;
    // 8 refused, its first half refused, that half's halves and the second half accepted
    // (the halves are cut by size, so about 4 spans each).
    let requests = trace_requests(&world.upstream);
    let statuses: Vec<Option<u16>> = requests.iter().map(|r| r.0).collect();
    assert_eq!(
        statuses,
        [Some(413), Some(413), Some(200), Some(200), Some(200)]
    );
    let n: Vec<usize> = requests.iter().map(|r| r.1).collect();
    assert_eq!(n[0], 8);
    assert_eq!(n[1] + n[4], 8, "{n:?}");
    assert_eq!(n[2] + n[3], n[1], "{n:?}");
    assert!(n.iter().all(|k| *k >= 1) && n[1] < 8, "{n:?}");
    assert_eq!(distinct_spans(&world.upstream), 8);

    // A single span that is still too large cannot be split: dropped and counted.
    world.upstream.script([Reply::status(413)]);
    invocation(&world, 1, 1, 3).await;
    assert_eq!(dropped(&world.upstream, "spans", "too_large"), 1);
    world.extension.shut_down(&world.lambda);
    assert_eq!(distinct_spans(&world.upstream), 8);
    assert!(
        world
            .extension
            .process
            .stderr()
            .contains("answered 413 for 1 spans that cannot be split further")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_items_of_a_partial_success_are_counted_as_dropped() {
    let mut world = start_answering(Reply::Accept, &[("FAAS_OTEL_EXTENSION_FLUSH", "end")]);
    world
        .upstream
        .script([Reply::partial_success(3, "spans too old")]);
    invocation(&world, 0, 10, 2).await;
    // The drop count travels in the same export, right after the data.
    assert_eq!(dropped(&world.upstream, "spans", "partial_success"), 3);
    world.extension.shut_down(&world.lambda);
    assert_eq!(dropped(&world.upstream, "spans", "partial_success"), 3);
    assert!(
        world
            .extension
            .process
            .stderr()
            .contains("upstream /v1/traces rejected 3 of 10 spans: spans too old")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed() {
    let elsewhere = OtlpReceiver::start().unwrap();
    let mut world = start_answering(Reply::Accept, &[("FAAS_OTEL_EXTENSION_FLUSH", "end")]);
    world
        .upstream
        .script([Reply::status(307).header("location", &format!("{}/v1/traces", elsewhere.url()))]);
    invocation(&world, 0, 3, 2).await;
    assert_eq!(trace_requests(&world.upstream), [(Some(307), 3)]);
    assert_eq!(dropped(&world.upstream, "spans", "rejected"), 3);
    world.extension.shut_down(&world.lambda);
    assert_eq!(elsewhere.request_count(), 0);
    assert!(
        world
            .extension
            .process
            .stderr()
            .contains("answered 307 (a redirect, not followed)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_background_export_does_not_hold_shutdown_past_its_deadline() {
    // The export budget (60 s) is longer than the test's patience: only the SHUTDOWN deadline
    // (2 s) can end the drain in time.
    let mut world = start(
        |b| b.default_reply(Reply::Stall),
        &[
            ("FAAS_OTEL_EXTENSION_FLUSH", "periodic"),
            ("FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS", "60000"),
        ],
    );
    assert!(PATIENCE < Duration::from_secs(60));
    invocation(&world, 0, 3, 2).await;
    // INVOKE 1 starts the background export of invocation 0's spans, which stalls.
    invocation(&world, 1, 3, 3).await;
    world.upstream.wait_for_requests(1, PATIENCE).unwrap();
    world.extension.shut_down(&world.lambda);
    let stderr = world.extension.process.stderr();
    assert!(
        stderr.contains("6 not delivered before the deadline"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shutdown_drain_includes_what_a_running_export_holds() {
    let mut world = start_delayed(
        Duration::from_millis(300),
        &[("FAAS_OTEL_EXTENSION_FLUSH", "periodic")],
    );
    invocation(&world, 0, 3, 2).await;
    invocation(&world, 1, 3, 3).await;
    // SHUTDOWN while the background export of invocation 0's spans waits for its answer.
    world.extension.shut_down(&world.lambda);
    assert_eq!(distinct_spans(&world.upstream), 6);
    assert!(
        world
            .upstream
            .requests()
            .iter()
            .all(|r| r.status == Some(200))
    );
}
