//! `FAAS_OTEL_EXTENSION_AUTH=sigv4` with the real binary: every upstream request (spans and
//! function logs, the retry after a `503` too) carries a SigV4 signature that botocore,
//! recomputing it from the request as received (gzip body included) with the credentials and
//! scope AWS would expect, accepts; a retry is signed anew, not replayed; a wrong secret is
//! refused; no credential ever appears on the extension's stderr.
#![cfg(feature = "sigv4")]
#![allow(clippy::unwrap_used)]

mod harness;

use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{Reply, Sigv4Check, test_python};
use harness::{event, invocation_trace, invoke_traced as invoke, post_batch, start_extension};
use lambda_emulator::ScriptedLambda;
use serde_json::json;

const A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const TRACE_A: u128 = 0x0a0a_0000_0000_0000_0000_0000_0000_000a;
const KEY_ID: &str = "AKIDFAASOTELEXT00001";
const SECRET: &str = "faas-otel-ext-SECRET-key/do-not-print";
const TOKEN: &str = "faas-otel-ext-SESSION-token-do-not-print";

fn settings(secret: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("FAAS_OTEL_EXTENSION_AUTH", "sigv4"),
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", TOKEN),
        // The upstream is on 127.0.0.1: the scope cannot come from its host.
        ("FAAS_OTEL_EXTENSION_AUTH_REGION", "us-east-1"),
        ("FAAS_OTEL_EXTENSION_AUTH_SERVICE", "xray"),
        ("FAAS_OTEL_EXTENSION_COMPRESSION", "gzip"),
        ("FAAS_OTEL_EXTENSION_FLUSH", "end"),
        ("FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS", "5000"),
    ]
}

/// One invocation: a function log line, the function's spans, the runtime done.
async fn invocation(lambda: &ScriptedLambda, extension: &harness::Extension) {
    lambda.invoke_and_wait(invoke(A));
    let start = event(
        "2024-05-01T10:00:00.125Z",
        "platform.start",
        json!({ "requestId": A }),
    );
    let line = event(
        "2024-05-01T10:00:00.125Z",
        "function",
        json!(format!(
            "2024-05-01T10:00:00.123Z\t{A}\tINFO\tsigned order placed\n"
        )),
    );
    assert_eq!(post_batch(lambda, vec![start, line]).await, 200);
    assert_eq!(
        extension.post_traces(&invocation_trace(A, TRACE_A)).await.0,
        200
    );
    let done = event(
        "2024-05-01T10:00:00.125Z",
        "platform.runtimeDone",
        json!({ "requestId": A, "status": "success" }),
    );
    assert_eq!(post_batch(lambda, vec![done]).await, 200);
    lambda.wait_nexts(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_logs_and_retries_are_signed_as_aws_checks_them_and_no_secret_is_printed() {
    let Some(python) = test_python("spans_logs_and_retries_are_signed_as_aws_checks_them") else {
        return;
    };
    let lambda = ScriptedLambda::start().unwrap();
    // The first request is refused with a 503 asking for a retry a second later.
    let upstream = OtlpReceiver::builder()
        .default_reply(Reply::Accept)
        .script([Reply::status(503).retry_after("1")])
        .start()
        .unwrap();
    let mut extension = start_extension(&lambda, &upstream, &settings(SECRET));
    invocation(&lambda, &extension).await;
    extension.shut_down(&lambda);

    let check = Sigv4Check::new(&python, KEY_ID, SECRET, Some(TOKEN), "us-east-1", "xray");
    let requests = upstream.requests();
    for request in &requests {
        assert_eq!(
            request.header("content-encoding"),
            Some("gzip"),
            "{}",
            request.path
        );
        check.verify_recorded(request).unwrap();
    }
    // The refused request and its retry: the same body, signed again at a later time.
    let refused = requests.iter().find(|r| r.status == Some(503)).unwrap();
    let retry = requests
        .iter()
        .find(|r| r.seq > refused.seq && r.path == refused.path && r.body == refused.body)
        .unwrap();
    assert_eq!(retry.status, Some(200));
    assert_ne!(retry.header("x-amz-date"), refused.header("x-amz-date"));
    assert_ne!(
        retry.header("authorization"),
        refused.header("authorization")
    );
    // Spans and logs arrived.
    assert!(upstream.span_names().contains(&"orders".to_owned()));
    let bodies: Vec<String> = upstream
        .log_records()
        .iter()
        .filter_map(|r| r.body.as_ref())
        .map(|b| format!("{b:?}"))
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains("signed order placed")),
        "{bodies:?}"
    );
    let stderr = extension.process.stderr();
    assert!(
        !stderr.contains(SECRET) && !stderr.contains(TOKEN),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_by_the_check() {
    let Some(python) = test_python("a_wrong_secret_is_refused_by_the_check") else {
        return;
    };
    let lambda = ScriptedLambda::start().unwrap();
    let upstream = OtlpReceiver::start().unwrap();
    let mut extension = start_extension(&lambda, &upstream, &settings("not-the-secret"));
    invocation(&lambda, &extension).await;
    extension.shut_down(&lambda);
    let check = Sigv4Check::new(&python, KEY_ID, SECRET, Some(TOKEN), "us-east-1", "xray");
    let requests = upstream.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        let err = check.verify_recorded(request).unwrap_err();
        assert!(err.starts_with("REJECTED SignatureDoesNotMatch"), "{err}");
    }
}
