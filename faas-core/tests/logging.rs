//! With the `logging` feature: correlated log lines (JSON and text, exact fields), handler
//! spans under the invocation span through `Logging::layer`, and OTLP log records with trace
//! and span ids through the test kit's real OTLP receiver, with the spans' flush rules.
#![cfg(feature = "logging")]
#![allow(clippy::unwrap_used)]

use std::io;
use std::sync::{Arc, Mutex};

use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::logging::{InvocationIdKey, JsonStyle, LogFormat, Logging, Targets, TextStyle};
use faas_core::pipeline::Telemetry;
use faas_testkit::Reply;
use faas_testkit::otlp::{OtlpReceiver, hex, str_attr};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

/// Lines written by the layer, for the test to read.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn json(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

fn telemetry(exporter: &InMemorySpanExporter, pairs: &[(&str, &str)]) -> Telemetry {
    let mut vars = vec![("OTEL_METRICS_EXPORTER".to_owned(), "none".to_owned())];
    vars.extend(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let telemetry = Telemetry::builder(LocalEnvironment::named("orders"))
        .with_env(Env::from_pairs(vars))
        .with_span_exporter(exporter.clone())
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
        .unwrap();
    let _ = telemetry.cold_start().take();
    telemetry
}

/// Runs `body` as invocation `id` with `logging` as the thread's subscriber; returns the
/// invocation span's context.
async fn invoke(
    telemetry: &Telemetry,
    logging: Logging,
    id: &str,
    body: impl FnOnce(),
) -> SpanContext {
    let subscriber = tracing_subscriber::registry().with(logging.layer(telemetry));
    let _default = tracing::subscriber::set_default(subscriber);
    tracing::info!(phase = "start-up", "before any invocation");
    let span =
        telemetry.start_invocation(Invocation::new("orders", Trigger::Http).with_invocation_id(id));
    let invocation = span.context().span().span_context().clone();
    span.scope(async { body() }).await;
    span.end(Outcome::Ok);
    invocation
}

fn lambda_json() -> LogFormat {
    LogFormat::Json(JsonStyle {
        invocation_id_key: InvocationIdKey::TopLevel("requestId"),
        ..JsonStyle::default()
    })
}

#[tokio::test(flavor = "current_thread")]
async fn json_lines_carry_the_trace_the_span_and_the_invocation() {
    let exporter = InMemorySpanExporter::default();
    let telemetry = telemetry(&exporter, &[]);
    let capture = Capture::default();
    let logging = Logging::new(lambda_json()).with_writer(capture.clone());
    let invocation = invoke(&telemetry, logging, "req-1", || {
        tracing::info!(order_id = 42, level = "gold", "order accepted");
        let load = tracing::info_span!("load order");
        let _entered = load.enter();
        let error = io::Error::other("disk full");
        tracing::error!(error = &error as &dyn std::error::Error, "order not stored");
        tracing::debug!("below the level");
    })
    .await;
    assert_eq!(telemetry.flush(None).await.exported_spans, 2);
    let spans = exporter.get_finished_spans().unwrap();
    let load = spans.iter().find(|s| s.name == "load order").unwrap();

    let lines = capture.json();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let trace_id = invocation.trace_id().to_string();
    let outside = lines[0].as_object().unwrap();
    assert_eq!(outside["message"], "before any invocation");
    assert!(!outside.contains_key("traceId") && !outside.contains_key("requestId"));

    let accepted = lines[1].as_object().unwrap();
    let mut keys: Vec<&str> = accepted.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "fields.level",
            "level",
            "message",
            "order_id",
            "requestId",
            "spanId",
            "target",
            "timestamp",
            "traceId"
        ]
    );
    assert_eq!(accepted["level"], "INFO");
    assert_eq!(
        accepted["fields.level"], "gold",
        "a field named like a key is renamed, not lost"
    );
    assert_eq!(accepted["message"], "order accepted");
    assert_eq!(accepted["order_id"], 42);
    assert_eq!(accepted["requestId"], "req-1");
    assert_eq!(accepted["traceId"], trace_id.as_str());
    assert_eq!(
        accepted["spanId"],
        invocation.span_id().to_string().as_str()
    );
    assert_eq!(accepted["target"], "logging");
    let timestamp = accepted["timestamp"].as_str().unwrap();
    assert_eq!(
        (timestamp.len(), &timestamp[23..]),
        (24, "Z"),
        "{timestamp}"
    );

    let failed = lines[2].as_object().unwrap();
    assert_eq!(failed["level"], "ERROR");
    assert_eq!(failed["error"], "disk full");
    assert_eq!(failed["traceId"], trace_id.as_str());
    assert_eq!(failed["requestId"], "req-1");
    assert_eq!(
        failed["spanId"],
        load.span_context.span_id().to_string().as_str(),
        "inside a tracing span the line names that span"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn text_lines_follow_lambdas_layout() {
    let exporter = InMemorySpanExporter::default();
    let telemetry = telemetry(&exporter, &[]);
    let capture = Capture::default();
    let logging = Logging::new(LogFormat::Text(TextStyle::default()))
        .with_writer(capture.clone())
        .with_filter(Targets::new().with_default(tracing::Level::WARN));
    let invocation = invoke(&telemetry, logging, "req-2", || {
        tracing::info!("filtered out");
        tracing::warn!(cause = "the queue is full", "order\nrejected");
    })
    .await;
    let lines = capture.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let columns: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(columns.len(), 4, "{lines:?}");
    assert_eq!(&columns[1..3], ["req-2", "WARN"]);
    assert_eq!(
        columns[3],
        format!(
            "logging: order\\nrejected cause=\"the queue is full\" traceId={} spanId={}",
            invocation.trace_id(),
            invocation.span_id()
        )
    );
}

#[tokio::test(flavor = "current_thread")]
async fn handler_spans_are_children_and_lambda_runtime_spans_are_not_bridged() {
    let exporter = InMemorySpanExporter::default();
    let telemetry = telemetry(&exporter, &[]);
    let logging = Logging::new(lambda_json()).with_writer(Capture::default());
    let invocation = invoke(&telemetry, logging, "req-3", || {
        let outer = tracing::info_span!("load order");
        let _entered = outer.enter();
        tracing::info_span!("query").in_scope(|| {});
        tracing::info_span!(target: "lambda_runtime::runtime", "worker").in_scope(|| {});
        tracing::debug_span!("below the level").in_scope(|| {});
    })
    .await;
    let report = telemetry.flush(None).await;
    assert_eq!(report.exported_spans, 3, "{report:?}");
    let spans = exporter.get_finished_spans().unwrap();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["query", "load order", "orders"]);
    assert_eq!(spans[1].parent_span_id, invocation.span_id());
    assert_eq!(spans[1].span_context.trace_id(), invocation.trace_id());
    assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
}

fn otlp_logs(receiver: &OtlpReceiver, extra: &[(&str, &str)]) -> (Telemetry, InMemorySpanExporter) {
    let url = receiver.url();
    let mut pairs = vec![
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
        ("FAAS_OTEL_EXPORT_BACKOFF_MS", "0"),
    ];
    pairs.extend_from_slice(extra);
    let exporter = InMemorySpanExporter::default();
    (telemetry(&exporter, &pairs), exporter)
}

#[tokio::test(flavor = "current_thread")]
async fn otlp_log_records_carry_trace_and_span_ids() {
    let receiver = OtlpReceiver::start().unwrap();
    let (telemetry, _spans) = otlp_logs(&receiver, &[]);
    let logging = Logging::new(lambda_json()).with_writer(Capture::default());
    let invocation = invoke(&telemetry, logging, "req-4", || {
        tracing::info!(order_id = 7, "order accepted");
        tracing::warn!("order late");
    })
    .await;
    let report = telemetry.flush(None).await;
    assert_eq!(
        (report.exported_logs, report.dropped_logs),
        (3, 0),
        "{report:?}"
    );
    let records = receiver.log_records();
    assert_eq!(records.len(), 3);
    let outside = &records[0];
    assert!(
        outside.trace_id.is_empty()
            && str_attr(&outside.attributes, "faas.invocation_id").is_none()
    );
    for record in &records[1..] {
        assert_eq!(hex(&record.trace_id), invocation.trace_id().to_string());
        assert_eq!(hex(&record.span_id), invocation.span_id().to_string());
        assert_eq!(
            str_attr(&record.attributes, "faas.invocation_id"),
            Some("req-4")
        );
    }
    assert_eq!(records[1].severity_text, "INFO");
    assert_eq!(records[2].severity_text, "WARN");
    assert_eq!(receiver.paths(), ["/v1/logs"]);
}

#[tokio::test(flavor = "current_thread")]
async fn otlp_log_records_leave_with_the_drain_when_the_last_handle_drops() {
    // The drop (and panic) path drains log records too, not only spans: a function whose
    // runtime ends without `shutdown` keeps its lines.
    let receiver = OtlpReceiver::start().unwrap();
    let (telemetry, _spans) = otlp_logs(&receiver, &[]);
    let logging = Logging::new(lambda_json()).with_writer(Capture::default());
    let invocation = invoke(&telemetry, logging, "req-drop", || {
        tracing::error!(cause = "disk full", "order not stored");
    })
    .await;
    drop(telemetry);
    let records = receiver.log_records();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(hex(&records[1].trace_id), invocation.trace_id().to_string());
    assert_eq!(
        str_attr(&records[1].attributes, "faas.invocation_id"),
        Some("req-drop")
    );
    assert_eq!(records[1].severity_text, "ERROR");
}

#[tokio::test(flavor = "current_thread")]
async fn otlp_logs_are_bounded_counted_and_requeued_like_spans() {
    let receiver = OtlpReceiver::builder()
        .script([Reply::status(503)])
        .start()
        .unwrap();
    let (telemetry, _spans) = otlp_logs(&receiver, &[("OTEL_BLRP_MAX_QUEUE_SIZE", "2")]);
    let logging = Logging::new(lambda_json()).with_writer(Capture::default());
    invoke(&telemetry, logging, "req-5", || {
        for i in 0..3 {
            tracing::info!(i, "line");
        }
    })
    .await;
    // Four records (one before the invocation) into a queue of two: the two oldest dropped.
    let refused = telemetry.flush(None).await;
    assert_eq!(
        (
            refused.exported_logs,
            refused.dropped_logs,
            refused.requeued_logs
        ),
        (0, 2, 2),
        "{refused:?}"
    );
    let accepted = telemetry.flush(None).await;
    assert_eq!(
        (accepted.exported_logs, accepted.dropped_logs),
        (2, 0),
        "{accepted:?}"
    );
    let bodies: Vec<String> = receiver
        .log_records()
        .iter()
        .map(|r| format!("{:?}", r.body))
        .collect();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies[0].contains("line") && bodies[1].contains("line"),
        "{bodies:?}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn lines_of_a_timed_out_invocation_stay_correlated() {
    let exporter = InMemorySpanExporter::default();
    let telemetry = telemetry(&exporter, &[]);
    let capture = Capture::default();
    let logging = Logging::new(lambda_json()).with_writer(capture.clone());
    let subscriber = tracing_subscriber::registry().with(logging.layer(&telemetry));
    let _default = tracing::subscriber::set_default(subscriber);
    let mut span = telemetry
        .start_invocation(Invocation::new("orders", Trigger::Http).with_invocation_id("req-6"));
    let invocation = span.context().span().span_context().clone();
    span.watch_after(std::time::Duration::from_millis(100));
    span.scope(async {
        tracing::info!("waiting for the warehouse");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        tracing::warn!("the warehouse answered after the deadline");
    })
    .await;
    assert!(span.is_ended(), "the watchdog ended the invocation");
    span.end(Outcome::Ok);
    let _ = telemetry.flush(None).await;
    let spans = exporter.get_finished_spans().unwrap();
    let ended = spans.iter().find(|s| s.name == "orders").unwrap();
    assert!(
        ended
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "error.type" && kv.value.as_str() == "timeout"),
        "{ended:?}"
    );
    let lines = capture.json();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert_eq!(line["requestId"], "req-6");
        assert_eq!(line["traceId"], invocation.trace_id().to_string().as_str());
        assert_eq!(line["spanId"], invocation.span_id().to_string().as_str());
    }
    assert_eq!(
        lines[1]["message"],
        "the warehouse answered after the deadline"
    );
}
