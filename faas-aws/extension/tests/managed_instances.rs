//! Lambda Managed Instances end to end, with the real binary: lambda-emulator's scripted
//! Lambda in its Managed Instances mode refuses INVOKE registrations (`400`) and every
//! subscription schema but `2025-01-29`, as LMI does. The extension registers for SHUTDOWN
//! only (or falls back to it when an INVOKE registration is refused), subscribes with
//! `2025-01-29`, exports in the background with no INVOKE to wait on, and drains at SHUTDOWN.
#![allow(clippy::unwrap_used)]

mod harness;

use faas_testkit::otlp::{OtlpReceiver, str_attr};
use faas_testkit::{PATIENCE, Reply};
use harness::{event, invocation_span_id, invocation_trace, post_batch, start_extension};
use lambda_emulator::{Entry, ScriptedLambda, ScriptedOptions};
use serde_json::json;

const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
const NAME: &str = "faas-otel-extension";

fn managed_instances() -> ScriptedLambda {
    ScriptedLambda::start_with(ScriptedOptions {
        managed_instances: true,
        max_concurrency: 2,
        ..ScriptedOptions::default()
    })
    .unwrap()
}

fn upstream() -> OtlpReceiver {
    OtlpReceiver::builder()
        .default_reply(Reply::Accept)
        .start()
        .unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The spans of `request`'s invocation reach the upstream while no SHUTDOWN was queued:
/// exported in the background.
async fn exported_in_the_background(
    lambda: &ScriptedLambda,
    upstream: &OtlpReceiver,
    extension: &harness::Extension,
) {
    assert_eq!(
        extension.post_traces(&invocation_trace(A, 0xa1)).await.0,
        200
    );
    assert_eq!(
        extension.post_traces(&invocation_trace(B, 0xb2)).await.0,
        200
    );
    let spans = upstream.wait_for_spans(4, PATIENCE).unwrap();
    assert_eq!(spans.len(), 4);
    assert_eq!(
        lambda.count(|e| matches!(e, Entry::Delivered { .. })),
        0,
        "no event was delivered: the export ran in the background"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_managed_instances_it_registers_for_shutdown_only_and_exports_in_the_background() {
    let lambda = managed_instances();
    let upstream = upstream();
    let mut extension = start_extension(
        &lambda,
        &upstream,
        &[("FAAS_OTEL_EXTENSION_EXPORT_INTERVAL_MS", "50")],
    );
    assert_eq!(
        lambda.registrations(),
        [(NAME.to_owned(), strings(&["SHUTDOWN"]), false)]
    );
    let subscriptions = lambda.subscriptions();
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(subscriptions[0]["schemaVersion"], "2025-01-29");
    assert_eq!(subscriptions[0]["types"], json!(["platform", "function"]));
    assert!(lambda.init_errors().is_empty());

    exported_in_the_background(&lambda, &upstream, &extension).await;

    // Two invocations at once, reported in schema 2025-01-29 (duration only).
    let t = "2025-01-29T10:00:00.000Z";
    let report = |id: &str, ms: f64, status: &str| {
        let mut record =
            json!({ "requestId": id, "status": status, "metrics": { "durationMs": ms } });
        if status != "success" {
            record["errorType"] = json!("Handled");
        }
        event(t, "platform.report", record)
    };
    let events = vec![
        event(
            t,
            "platform.initStart",
            json!({ "initializationType": "lambda-managed-instances", "phase": "init" }),
        ),
        event(
            t,
            "platform.initReport",
            json!({ "initializationType": "lambda-managed-instances", "phase": "init", "status": "success", "metrics": { "durationMs": 80.0 } }),
        ),
        event(t, "platform.start", json!({ "requestId": A })),
        event(t, "platform.start", json!({ "requestId": B })),
        event(
            t,
            "platform.runtimeDone",
            json!({ "requestId": A, "status": "success" }),
        ),
        event(
            t,
            "platform.runtimeDone",
            json!({ "requestId": B, "status": "error", "errorType": "Handled" }),
        ),
        report(A, 12.5, "success"),
        report(B, 3.25, "error"),
    ];
    assert_eq!(post_batch(&lambda, events).await, 200);
    // The platform's spans leave in the background too, before any SHUTDOWN: no invocation
    // end moves them into the buffer on LMI, the background exporter does.
    let all = upstream.wait_for_spans(7, PATIENCE).unwrap();
    assert_eq!(all.len(), 7, "before SHUTDOWN");

    extension.shut_down(&lambda);
    let spans = upstream.spans_named("platform invoke");
    assert_eq!(spans.len(), 2, "{:?}", upstream.span_names());
    for (span, id, trace, error) in [
        (&spans[0], A, 0xa1u128, None),
        (&spans[1], B, 0xb2, Some("Handled")),
    ] {
        // A sibling of the invocation span, with no memory or cost: LMI bills no invocation.
        assert_eq!(span.trace_id, trace.to_be_bytes().to_vec());
        assert!(span.parent_span_id.is_empty());
        assert_ne!(
            span.span_id,
            invocation_span_id(trace).to_be_bytes().to_vec()
        );
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        let expected: &[&str] = if error.is_some() {
            &["faas.invocation_id", "error.type"]
        } else {
            &["faas.invocation_id"]
        };
        assert_eq!(keys, expected, "{id}");
        assert_eq!(str_attr(&span.attributes, "faas.invocation_id"), Some(id));
        assert_eq!(str_attr(&span.attributes, "error.type"), error);
    }
    let init = upstream.spans_named("platform init");
    assert_eq!(init.len(), 1);
    assert_eq!(
        str_attr(&init[0].attributes, "faas_otel.init.type"),
        Some("lambda-managed-instances")
    );
    assert_eq!(upstream.spans().len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoke_registration_refused_as_managed_instances_refuse_it_falls_back_to_shutdown_only()
{
    let lambda = managed_instances();
    let upstream = upstream();
    // The environment does not say LMI: the extension asks for INVOKE and is refused.
    let mut extension = start_extension(
        &lambda,
        &upstream,
        &[
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("FAAS_OTEL_EXTENSION_EXPORT_INTERVAL_MS", "50"),
        ],
    );
    assert_eq!(
        lambda.registrations(),
        [
            (NAME.to_owned(), strings(&["INVOKE", "SHUTDOWN"]), true),
            (NAME.to_owned(), strings(&["SHUTDOWN"]), false),
        ]
    );
    let accepted: Vec<(String, bool)> = lambda
        .entries()
        .into_iter()
        .filter_map(|l| match l.entry {
            Entry::Subscribe { body, accepted, .. } => {
                Some((body["schemaVersion"].as_str()?.to_owned(), accepted))
            }
            _ => None,
        })
        .collect();
    assert_eq!(accepted, [("2025-01-29".to_owned(), true)]);
    assert!(lambda.init_errors().is_empty());
    assert!(
        extension
            .process
            .stderr()
            .contains("registering for INVOKE was refused"),
        "{}",
        extension.process.stderr()
    );
    exported_in_the_background(&lambda, &upstream, &extension).await;
    extension.shut_down(&lambda);
    assert_eq!(upstream.spans().len(), 4, "each span once");
}

#[test]
fn a_bad_setting_on_managed_instances_is_still_reported() {
    let lambda = managed_instances();
    let upstream = upstream();
    let binary = env!("CARGO_BIN_EXE_faas-otel-extension");
    let mut command = std::process::Command::new(binary);
    command
        .env_clear()
        .envs(lambda.env())
        .env("FAAS_OTEL_EXTENSION_ENDPOINT", upstream.url())
        .env("FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN", "0.0.0.0:0");
    let mut process = faas_testkit::Process::spawn(command).unwrap();
    let status = process.wait_exit(PATIENCE).unwrap();
    assert!(!status.success());
    assert_eq!(
        lambda.registrations(),
        [(NAME.to_owned(), strings(&["SHUTDOWN"]), false)]
    );
    let errors = lambda.init_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "Extension.ConfigError");
    assert!(
        errors[0].1.contains("FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN")
            && errors[0].1.contains("loopback only"),
        "{}",
        errors[0].1
    );
}
