//! The example functions' log lines under the workspace's Lambda emulator (scripted mode),
//! stdout captured: with `AWS_LAMBDA_LOG_FORMAT=JSON` one JSON object per line with the
//! invocation's `requestId`, `traceId` and `spanId` (the exported invocation span's), in Text
//! Lambda's tab-separated layout with the request id, `AWS_LAMBDA_LOG_LEVEL` honoured, and with
//! `OTEL_LOGS_EXPORTER=otlp` OTLP log records with the same ids at the test kit's receiver.
//! The lines of a failed invocation (`GET /fail`) are correlated like any other.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::{OtlpReceiver, hex, str_attr};
use lambda_emulator::InvokeEvent;
use serde_json::{Value, json};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const BOUND: Duration = Duration::from_secs(10);

fn invocation(payload: String) -> InvokeEvent {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    InvokeEvent::new(format!("00000000-0000-4000-9000-{n:012}"))
        .payload(payload)
        .without_trace_header()
}

/// An API Gateway HTTP API (v2) `GET path` with a `traceparent`.
fn get(path: &str) -> String {
    json!({
        "version": "2.0",
        "routeKey": format!("GET {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc123.execute-api.eu-west-1.amazonaws.com", "traceparent": TRACEPARENT},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "curl/8.5.0"},
            "requestId": "JKJaXmPLvHcESHA=", "routeKey": format!("GET {path}"), "stage": "$default",
            "time": "26/Nov/2026:18:00:00 +0000", "timeEpoch": 1795716000000u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// The exported span named `name` (waiting for it).
fn span(collector: &OtlpReceiver, name: &str) -> Span {
    collector.wait_for_span(name, |_| true).unwrap().span
}

#[test]
fn a_failed_invocation_logs_one_json_line_with_its_request_id_and_trace() {
    let (collector, api, function) = support::launch_runtime(
        env!("CARGO_BIN_EXE_aws-http-api"),
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
    );
    let failed = api.invoke_and_answer(invocation(get("/fail")));
    assert!(failed.error.is_some(), "{failed:?}");
    let span = span(&collector, "GET /fail");
    assert_eq!(hex(&span.trace_id), TRACE_ID);

    let line = support::json_line(&function, "order lookup failed");
    let mut keys: Vec<&str> = line.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "cause",
            "level",
            "message",
            "requestId",
            "spanId",
            "target",
            "timestamp",
            "traceId"
        ]
    );
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["requestId"], failed.request_id.as_str());
    assert_eq!(line["traceId"], TRACE_ID);
    assert_eq!(line["spanId"], hex(&span.span_id).as_str());
    assert_eq!(line["cause"], "the order service is unavailable");
    assert_eq!(line["target"], "aws_http_api");
    // Every stdout line is a JSON object: nothing else is written.
    for l in function.stdout().lines() {
        assert!(
            serde_json::from_str::<Value>(l).is_ok_and(|v| v.is_object()),
            "{l}"
        );
    }
}

#[test]
fn text_lines_have_lambdas_layout_with_the_request_id() {
    let (collector, api, function) =
        support::launch_runtime(env!("CARGO_BIN_EXE_aws-http-api"), &[]);
    let failed = api.invoke_and_answer(invocation(get("/fail")));
    let span = span(&collector, "GET /fail");
    let line = function
        .wait_for_stdout_line(BOUND, |l| l.contains("order lookup failed"))
        .unwrap();
    let columns: Vec<&str> = line.split('\t').collect();
    assert_eq!(columns.len(), 4, "{line}");
    assert_eq!(columns[1], failed.request_id);
    assert_eq!(columns[2], "ERROR");
    assert_eq!(
        columns[3],
        format!(
            "aws_http_api: order lookup failed cause=\"the order service is unavailable\" traceId={TRACE_ID} spanId={}",
            hex(&span.span_id)
        )
    );
}

#[test]
fn the_lambda_log_level_is_honoured_over_rust_log() {
    let (collector, api, function) = support::launch_runtime(
        env!("CARGO_BIN_EXE_aws-sqs-consumer"),
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("RUST_LOG", "trace"),
        ],
    );
    let record = |id: &str, body: &str| {
        json!({"messageId": id, "receiptHandle": "AQEB", "body": body, "attributes": {},
               "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
               "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders-queue",
               "awsRegion": "eu-west-1"})
    };
    let event = json!({"Records": [record("m-1", "order 1"), record("m-2", "please fail")]});
    let answer = api.invoke_and_answer(invocation(event.to_string()));
    let batch = collector
        .wait_for_span("orders-queue process", |s| s.parent_span_id.is_empty())
        .unwrap()
        .span;
    let line = support::json_line(
        &function,
        "order not processed, reported in batchItemFailures",
    );
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["message_id"], "m-2");
    assert_eq!(line["requestId"], answer.request_id.as_str());
    assert_eq!(line["traceId"], hex(&batch.trace_id).as_str());
    assert_eq!(line["spanId"], hex(&batch.span_id).as_str());
    let stdout = function.stdout();
    assert!(
        !stdout.contains("order processed"),
        "INFO is below WARN: {stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

#[test]
fn otlp_log_records_leave_with_the_spans_and_name_the_invocation() {
    let (collector, api, _function) = support::launch_runtime(
        env!("CARGO_BIN_EXE_aws-http-api"),
        &[("OTEL_LOGS_EXPORTER", "otlp")],
    );
    let failed = api.invoke_and_answer(invocation(get("/fail")));
    let span = span(&collector, "GET /fail");
    api.wait_runtime_nexts(2);
    let records = collector.log_records();
    let record = records
        .iter()
        .find(|r| format!("{:?}", r.body).contains("order lookup failed"))
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(hex(&record.trace_id), TRACE_ID);
    assert_eq!(hex(&record.span_id), hex(&span.span_id));
    assert_eq!(record.severity_text, "ERROR");
    assert_eq!(
        str_attr(&record.attributes, "faas.invocation_id"),
        Some(failed.request_id.as_str())
    );
    assert_eq!(
        str_attr(&record.attributes, "cause"),
        Some("the order service is unavailable")
    );
}
