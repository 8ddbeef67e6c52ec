//! What the bench counts: `bench-faas` answers like `bench-bare` and exports one invocation span
//! per invocation (the billed cycle's "spans delivered of sent"), the first one the cold start,
//! and the init span of that cold start.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faas_testkit::otlp::proto::tonic::common::v1::any_value::Value;
use faas_testkit::otlp::proto::tonic::trace::v1::span::SpanKind;
use faas_testkit::otlp::{OtlpReceiver, str_attr};
use faas_testkit::wait_until;
use lambda_emulator::{InvokeEvent, ScriptedLambda};

#[test]
fn one_invocation_span_per_invocation() {
    let collector = OtlpReceiver::start().unwrap();
    let lambda = ScriptedLambda::start().unwrap();
    let endpoint = collector.url();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_METRICS_EXPORTER", "none"),
    ];
    let _function = lambda
        .start_runtime(env!("CARGO_BIN_EXE_bench-faas"), &env)
        .unwrap();
    let ids: Vec<String> = (0..3).map(|n| format!("req-{n}")).collect();
    for id in &ids {
        let answer = lambda.invoke_and_answer(InvokeEvent::new(id).payload("{}"));
        assert_eq!(
            (answer.text().as_str(), answer.error),
            (r#"{"ok":true}"#, None)
        );
    }
    // The flush runs after the answer, before the next event: wait for the third.
    let spans = wait_until("three invocation spans", Duration::from_secs(30), || {
        let spans = collector.spans_named("orders");
        (spans.len() >= 3).then_some(spans)
    })
    .unwrap();
    assert_eq!(spans.len(), 3);
    // The cold start's init span and its three phases, once.
    let mut init: Vec<String> = collector
        .spans()
        .into_iter()
        .map(|s| s.name)
        .filter(|n| n.starts_with("faas init"))
        .collect();
    init.sort();
    assert_eq!(
        init,
        [
            "faas init",
            "faas init ready",
            "faas init startup",
            "faas init telemetry"
        ]
    );
    for (span, id) in spans.iter().zip(&ids) {
        assert_eq!(span.kind, SpanKind::Server as i32);
        assert_eq!(
            str_attr(&span.attributes, "faas.invocation_id"),
            Some(id.as_str())
        );
        let cold = span
            .attributes
            .iter()
            .find(|kv| kv.key == "faas.coldstart")
            .and_then(|kv| kv.value.as_ref()?.value.clone());
        assert_eq!(cold, Some(Value::BoolValue(id == "req-0")), "{id}");
    }
}
