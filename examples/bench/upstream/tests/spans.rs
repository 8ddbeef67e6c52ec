//! The contrast the bench measures: `bench-upstream` (the `lambda_runtime` recipe) answers like
//! `bench-bare`, and its `force_flush` delivers one span per invocation carrying the request id.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faas_testkit::otlp::{OtlpReceiver, str_attr};
use faas_testkit::wait_until;
use lambda_emulator::{InvokeEvent, ScriptedLambda};

#[test]
fn the_recipe_delivers_a_span_per_invocation() {
    delivers_a_span_per_invocation(&[]);
}

/// The placement section 7 also runs it in, like `faas_aws::run`'s loop.
#[test]
fn the_recipe_delivers_a_span_per_invocation_with_the_loop_on_a_worker() {
    delivers_a_span_per_invocation(&[("FAAS_OTEL_BENCH_LOOP", "worker")]);
}

fn delivers_a_span_per_invocation(extra: &[(&str, &str)]) {
    let collector = OtlpReceiver::start().unwrap();
    let lambda = ScriptedLambda::start().unwrap();
    let endpoint = collector.url();
    let binary = env!("CARGO_BIN_EXE_bench-upstream");
    let mut env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())];
    env.extend_from_slice(extra);
    let _function = lambda.start_runtime(binary, &env).unwrap();
    let ids: Vec<String> = (0..3).map(|n| format!("req-{n}")).collect();
    let answers: Vec<(String, bool)> = ids
        .iter()
        .map(|id| lambda.invoke_and_answer(InvokeEvent::new(id).payload("{}")))
        .map(|answer| (answer.text(), answer.error.is_none()))
        .collect();
    assert_eq!(answers, vec![(r#"{"ok":true}"#.to_string(), true); 3]);
    // Its flush runs after the answer: all three are in once the last one is.
    let spans = wait_until("three spans", Duration::from_secs(30), || {
        Some(collector.spans()).filter(|spans| spans.len() >= 3)
    })
    .unwrap();
    let seen: Vec<(&str, Option<&str>)> = spans
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                str_attr(&s.attributes, "faas.invocation_id"),
            )
        })
        .collect();
    let expected: Vec<(&str, Option<&str>)> =
        ids.iter().map(|id| ("orders", Some(id.as_str()))).collect();
    assert_eq!(seen, expected);
}
