//! Function logs end to end, with the real binary: the platform's Telemetry API delivers the
//! function's lines (text and JSON log format) to the extension, which forwards them to the
//! upstream's `/v1/logs` as OTLP log records tied to their invocation's trace, each exactly
//! once; `platform.logsDropped` is counted as dropped log records; `FAAS_OTEL_EXTENSION_LOGS`
//! chooses the streams.
#![allow(clippy::unwrap_used)]

mod harness;

use faas_testkit::otlp::proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use faas_testkit::otlp::proto::tonic::logs::v1::LogRecord;
use faas_testkit::otlp::{OtlpReceiver, str_attr};
use faas_testkit::{PATIENCE, Reply, wait_until};
use harness::{
    event, invocation_span_id, invocation_trace, invoke_traced as invoke, post_batch,
    start_extension,
};
use lambda_emulator::ScriptedLambda;
use serde_json::json;

const A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const C: &str = "cccccccc-0000-4000-8000-00000000000c";
const TRACE_A: u128 = 0x0a0a_0000_0000_0000_0000_0000_0000_000a;
const TRACE_B: u128 = 0x0b0b_0000_0000_0000_0000_0000_0000_000b;

/// 2024-05-01T10:00:00.123Z, in the lines and (2 ms later) the events' `time`.
const LINE_TIME: &str = "2024-05-01T10:00:00.123Z";
const LINE_NS: u64 = 1_714_557_600_123_000_000;
const EVENT_TIME: &str = "2024-05-01T10:00:00.125Z";
const EVENT_NS: u64 = 1_714_557_600_125_000_000;

fn upstream() -> OtlpReceiver {
    OtlpReceiver::builder()
        .default_reply(Reply::Accept)
        .start()
        .unwrap()
}

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.to_owned())),
    })
}

fn attr(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value,
        ..KeyValue::default()
    }
}

/// A log record as the extension makes it.
fn record(
    (time, severity, level): (u64, i32, &str),
    body: &str,
    mut attributes: Vec<KeyValue>,
    invocation: Option<(&str, Option<u128>)>,
) -> LogRecord {
    let mut all = Vec::new();
    if let Some((id, _)) = invocation {
        all.push(attr("faas.invocation_id", string(id)));
    }
    all.push(attr("faas_otel.log.source", string("function")));
    all.append(&mut attributes);
    let trace = invocation.and_then(|(_, trace)| trace);
    LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: EVENT_NS,
        severity_number: severity,
        severity_text: level.to_owned(),
        body: string(body),
        attributes: all,
        trace_id: trace.map(|t| t.to_be_bytes().to_vec()).unwrap_or_default(),
        span_id: trace
            .map(|t| invocation_span_id(t).to_be_bytes().to_vec())
            .unwrap_or_default(),
        flags: u32::from(trace.is_some()),
        ..LogRecord::default()
    }
}

fn line(record: serde_json::Value) -> serde_json::Value {
    event(EVENT_TIME, "function", record)
}

fn platform(event_type: &str, record: serde_json::Value) -> serde_json::Value {
    event(EVENT_TIME, event_type, record)
}

fn done(id: &str) -> serde_json::Value {
    platform(
        "platform.runtimeDone",
        json!({ "requestId": id, "status": "success" }),
    )
}

fn report(id: &str) -> serde_json::Value {
    platform(
        "platform.report",
        json!({ "requestId": id, "status": "success", "metrics": {
            "durationMs": 2.0, "billedDurationMs": 2, "memorySizeMB": 128, "maxMemoryUsedMB": 20 } }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_logs_in_text_and_json_reach_the_upstream_tied_to_their_trace_once() {
    let lambda = ScriptedLambda::start().unwrap();
    let upstream = upstream();
    let mut extension = start_extension(&lambda, &upstream, &[]);
    let subscriptions = lambda.subscriptions();
    assert_eq!(subscriptions[0]["schemaVersion"], "2022-12-13");
    assert_eq!(subscriptions[0]["types"], json!(["platform", "function"]));

    // Invocation A, text log format: a runtime's line naming A, then a `tracing` line that
    // names nothing (A is the invocation in progress). The lines come before the spans.
    lambda.invoke_and_wait(invoke(A));
    let text_a = vec![
        platform("platform.start", json!({ "requestId": A })),
        line(json!(format!("{LINE_TIME}\t{A}\tINFO\torder 42 placed\n"))),
        line(json!("  WARN orders::stock: stock low sku=7")),
    ];
    assert_eq!(post_batch(&lambda, text_a.clone()).await, 200);
    assert_eq!(
        extension.post_traces(&invocation_trace(A, TRACE_A)).await.0,
        200
    );
    // The platform delivers the same batch again: no line twice.
    assert_eq!(post_batch(&lambda, text_a).await, 200);
    assert_eq!(post_batch(&lambda, vec![done(A)]).await, 200);
    lambda.wait_nexts(2);
    assert_eq!(post_batch(&lambda, vec![report(A)]).await, 200);

    // Invocation B, JSON log format, with the function's own fields.
    lambda.invoke_and_wait(invoke(B));
    assert_eq!(
        extension.post_traces(&invocation_trace(B, TRACE_B)).await.0,
        200
    );
    let json_b = vec![
        platform("platform.start", json!({ "requestId": B })),
        line(
            json!({ "timestamp": LINE_TIME, "level": "ERROR", "requestId": B,
                     "message": "payment failed", "orderId": 42 }),
        ),
        done(B),
    ];
    assert_eq!(post_batch(&lambda, json_b).await, 200);
    lambda.wait_nexts(3);
    assert_eq!(post_batch(&lambda, vec![report(B)]).await, 200);

    // Invocation C sends no span: its line goes out at its report, without a trace.
    lambda.invoke_and_wait(invoke(C));
    let c = vec![
        platform("platform.start", json!({ "requestId": C })),
        line(json!("DEBUG no span here")),
        done(C),
    ];
    assert_eq!(post_batch(&lambda, c).await, 200);
    lambda.wait_nexts(4);
    assert_eq!(post_batch(&lambda, vec![report(C)]).await, 200);
    // A line between invocations belongs to none.
    assert_eq!(post_batch(&lambda, vec![line(json!("idle"))]).await, 200);
    extension.shut_down(&lambda);

    const INFO: i32 = 9;
    const WARN: i32 = 13;
    const ERROR: i32 = 17;
    const DEBUG: i32 = 5;
    let int = |i| {
        Some(AnyValue {
            value: Some(any_value::Value::IntValue(i)),
        })
    };
    let mut records = upstream.log_records();
    records.sort_by_key(|r| format!("{:?}", r.body));
    let mut expected = vec![
        record(
            (LINE_NS, INFO, "INFO"),
            "order 42 placed",
            vec![],
            Some((A, Some(TRACE_A))),
        ),
        record(
            (EVENT_NS, WARN, "WARN"),
            "orders::stock: stock low sku=7",
            vec![],
            Some((A, Some(TRACE_A))),
        ),
        record(
            (LINE_NS, ERROR, "ERROR"),
            "payment failed",
            vec![attr("orderId", int(42))],
            Some((B, Some(TRACE_B))),
        ),
        record(
            (EVENT_NS, DEBUG, "DEBUG"),
            "no span here",
            vec![],
            Some((C, None)),
        ),
        record((EVENT_NS, 0, ""), "idle", vec![], None),
    ];
    expected.sort_by_key(|r| format!("{:?}", r.body));
    assert_eq!(records, expected);

    // Under the function's resource and the extension's scope.
    for logs in upstream.logs() {
        for resource_logs in &logs.resource_logs {
            let resource = resource_logs.resource.as_ref().unwrap();
            assert_eq!(str_attr(&resource.attributes, "faas.name"), Some("orders"));
            for scope in &resource_logs.scope_logs {
                assert_eq!(scope.scope.as_ref().unwrap().name, "faas-otel-extension");
            }
        }
    }
    assert!(
        upstream
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/logs")
            .all(|r| r.status == Some(200))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_off_forwards_no_line_and_logs_dropped_is_counted() {
    let lambda = ScriptedLambda::start().unwrap();
    let upstream = upstream();
    let mut extension = start_extension(&lambda, &upstream, &[("FAAS_OTEL_EXTENSION_LOGS", "off")]);
    assert_eq!(lambda.subscriptions()[0]["types"], json!(["platform"]));
    lambda.invoke_and_wait(invoke(A));
    let batch = vec![
        platform("platform.start", json!({ "requestId": A })),
        line(json!("INFO not forwarded")),
        platform(
            "platform.logsDropped",
            json!({ "reason": "Consumer seems to have fallen behind", "droppedRecords": 5, "droppedBytes": 500 }),
        ),
        done(A),
    ];
    assert_eq!(post_batch(&lambda, batch).await, 200);
    assert_eq!(
        extension.post_traces(&invocation_trace(A, TRACE_A)).await.0,
        200
    );
    lambda.wait_nexts(2);
    extension.shut_down(&lambda);
    assert!(upstream.log_records().is_empty());
    wait_until("the dropped self-metric", PATIENCE, || {
        (upstream.metric_sum("faas_otel.extension.dropped", "signal", "log_records") == 5)
            .then_some(())
    })
    .unwrap();
    assert!(
        extension
            .process
            .stderr()
            .contains("the platform dropped 5 telemetry records"),
        "{}",
        extension.process.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_logs_when_asked_for_and_belonging_to_no_invocation() {
    let lambda = ScriptedLambda::start().unwrap();
    let upstream = upstream();
    let mut extension = start_extension(
        &lambda,
        &upstream,
        &[("FAAS_OTEL_EXTENSION_LOGS", "function,extension")],
    );
    assert_eq!(
        lambda.subscriptions()[0]["types"],
        json!(["platform", "function", "extension"])
    );
    lambda.invoke_and_wait(invoke(A));
    let batch = vec![
        platform("platform.start", json!({ "requestId": A })),
        event(
            EVENT_TIME,
            "extension",
            json!("[secrets] ERROR cache refresh failed"),
        ),
        done(A),
    ];
    assert_eq!(post_batch(&lambda, batch).await, 200);
    lambda.wait_nexts(2);
    extension.shut_down(&lambda);
    let records = upstream.log_records();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].attributes,
        [attr("faas_otel.log.source", string("extension"))]
    );
    assert_eq!(
        records[0].body,
        string("[secrets] ERROR cache refresh failed")
    );
    assert!(records[0].trace_id.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faas_aws_log_lines_keep_the_span_they_were_written_in() {
    // The layouts faas-aws writes (faas_core::logging): text with the trace context at the end,
    // JSON with `traceId` and `spanId`, `-` for no request id.
    const CHILD: u64 = 0x0b7a_d6b7_1692_0333;
    let trace_hex = format!("{TRACE_A:032x}");
    let span_hex = format!("{CHILD:016x}");
    let lambda = ScriptedLambda::start().unwrap();
    let upstream = upstream();
    let mut extension = start_extension(&lambda, &upstream, &[]);
    lambda.invoke_and_wait(invoke(A));
    let batch = vec![
        platform("platform.start", json!({ "requestId": A })),
        line(json!(format!(
            "{LINE_TIME}\t{A}\tINFO\torders: accepted order_id=42 traceId={trace_hex} spanId={span_hex}"
        ))),
        line(
            json!({ "timestamp": LINE_TIME, "level": "WARN", "message": "slow", "requestId": A,
                     "traceId": trace_hex, "spanId": span_hex, "target": "orders" }),
        ),
        done(A),
        line(json!(format!("{LINE_TIME}\t-\tINFO\torders: idle"))),
    ];
    assert_eq!(post_batch(&lambda, batch).await, 200);
    lambda.wait_nexts(2);
    extension.shut_down(&lambda);

    // No span of the function arrived: the lines' own context is all there is, and no line
    // waited for one.
    let own = |mut r: LogRecord| {
        r.trace_id = TRACE_A.to_be_bytes().to_vec();
        r.span_id = CHILD.to_be_bytes().to_vec();
        r.flags = 1;
        r
    };
    let expected = vec![
        own(record(
            (LINE_NS, 9, "INFO"),
            "orders: accepted order_id=42",
            vec![],
            Some((A, None)),
        )),
        own(record(
            (LINE_NS, 13, "WARN"),
            "slow",
            vec![attr("target", string("orders"))],
            Some((A, None)),
        )),
        record((LINE_NS, 9, "INFO"), "orders: idle", vec![], None),
    ];
    assert_eq!(upstream.log_records(), expected);
}
