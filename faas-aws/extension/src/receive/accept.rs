//! [`accept_traces`], [`accept_metrics`], [`accept_logs`]: a held OTLP request (from OTLP/HTTP
//! or OTLP/gRPC) taken into the buffer, answered with `partial_success` over the cap.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_semantic_conventions::attribute as attr;

use crate::buffer::{Held, Signal, SpanView, for_each_span};
use crate::lock::lock;
use crate::state::Shared;

/// An attribute of an invocation span's view.
fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// What the platform telemetry reads of an invocation span (ids, parent, the invocation id,
/// `faas.coldstart`), as a span of its own.
fn invocation_span(view: &SpanView<'_>, id: &str) -> Span {
    let mut attributes = vec![attribute(
        attr::FAAS_INVOCATION_ID,
        any_value::Value::StringValue(id.to_owned()),
    )];
    if let Some(coldstart) = view.coldstart {
        attributes.push(attribute(
            attr::FAAS_COLDSTART,
            any_value::Value::BoolValue(coldstart),
        ));
    }
    Span {
        trace_id: view.trace_id.to_vec(),
        span_id: view.span_id.to_vec(),
        parent_span_id: view.parent_span_id.to_vec(),
        attributes,
        ..Span::default()
    }
}

/// The spans of `held` that carry `faas.invocation_id` (read from the bytes, nothing else
/// decoded), as a request of those spans with only what the platform telemetry reads; `None`
/// when there are none.
pub(crate) fn invocation_spans(held: &Held) -> Option<ExportTraceServiceRequest> {
    // A span carrying the attribute holds its key's bytes as they are: a request without them
    // (most requests: one span per invocation carries it) is not walked span by span.
    memchr::memmem::find(held.body(), attr::FAAS_INVOCATION_ID.as_bytes())?;
    let mut spans = Vec::new();
    // Held bytes were checked on receipt: the scan does not fail.
    let _ = for_each_span(held.body(), |view| {
        if let Some(id) = view.invocation_id {
            spans.push(invocation_span(&view, id));
        }
    });
    (!spans.is_empty()).then(|| ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    })
}

/// Logs a drop over the memory cap and returns the `partial_success` message.
fn over_cap(what: &str, n: u64) -> String {
    eprintln!(
        "faas-otel-extension: memory cap reached, {n} {what} dropped (FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES)"
    );
    format!("faas-otel-extension memory cap reached: {n} {what} dropped")
}

/// Takes a held trace request: learns its invocations, buffers it within the cap, wakes the
/// lifecycle, and returns the answer.
pub(crate) fn accept_traces(shared: &Shared, held: Held) -> ExportTraceServiceResponse {
    let invocations = invocation_spans(&held);
    if let Some(invocations) = &invocations {
        lock(&shared.platform).observe_traces(invocations);
    }
    let dropped = lock(&shared.buffer).push(Signal::Traces, held);
    if let Some(invocations) = invocations {
        let mut seen = lock(&shared.seen);
        for span in crate::otlp::spans(&invocations) {
            if let Some(id) = crate::otlp::find_str(&span.attributes, attr::FAAS_INVOCATION_ID) {
                seen.insert(id.to_owned());
            }
        }
    }
    shared.arrived.notify_waiters();
    let partial_success = (dropped > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(dropped).unwrap_or(i64::MAX),
        error_message: over_cap("spans", dropped),
    });
    ExportTraceServiceResponse { partial_success }
}

/// As [`accept_traces`], for metrics.
pub(crate) fn accept_metrics(shared: &Shared, held: Held) -> ExportMetricsServiceResponse {
    let dropped = lock(&shared.buffer).push(Signal::Metrics, held);
    let partial_success = (dropped > 0).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(dropped).unwrap_or(i64::MAX),
        error_message: over_cap("metric data points", dropped),
    });
    ExportMetricsServiceResponse { partial_success }
}

/// As [`accept_traces`], for logs.
pub(crate) fn accept_logs(shared: &Shared, held: Held) -> ExportLogsServiceResponse {
    let dropped = lock(&shared.buffer).push(Signal::Logs, held);
    let partial_success = (dropped > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: i64::try_from(dropped).unwrap_or(i64::MAX),
        error_message: over_cap("log records", dropped),
    });
    ExportLogsServiceResponse { partial_success }
}
