//! [`accept_traces`], [`accept_metrics`], [`accept_logs`]: a decoded OTLP request (from
//! OTLP/HTTP or OTLP/gRPC) taken into the buffer, answered with `partial_success` over the cap.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_semantic_conventions::attribute as attr;

use crate::lock::lock;
use crate::otlp::{self, find_str};
use crate::state::Shared;

/// Every `faas.invocation_id` value on a span of `request`.
fn invocation_ids(request: &ExportTraceServiceRequest) -> Vec<String> {
    otlp::spans(request)
        .filter_map(|span| find_str(&span.attributes, attr::FAAS_INVOCATION_ID))
        .map(str::to_owned)
        .collect()
}

/// Logs a drop over the memory cap and returns the `partial_success` message.
fn over_cap(what: &str, n: u64) -> String {
    eprintln!(
        "faas-otel-extension: memory cap reached, {n} {what} dropped (FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES)"
    );
    format!("faas-otel-extension memory cap reached: {n} {what} dropped")
}

/// Takes a decoded trace request: learns its invocation ids, buffers it within the cap, wakes
/// the lifecycle, and returns the answer.
pub(crate) fn accept_traces(
    shared: &Shared,
    request: ExportTraceServiceRequest,
) -> ExportTraceServiceResponse {
    lock(&shared.platform).observe_traces(&request);
    let ids = invocation_ids(&request);
    let dropped = lock(&shared.buffer).push_traces(request);
    {
        let mut seen = lock(&shared.seen);
        for id in ids {
            seen.insert(id);
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
pub(crate) fn accept_metrics(
    shared: &Shared,
    request: ExportMetricsServiceRequest,
) -> ExportMetricsServiceResponse {
    let dropped = lock(&shared.buffer).push_metrics(request);
    let partial_success = (dropped > 0).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(dropped).unwrap_or(i64::MAX),
        error_message: over_cap("metric data points", dropped),
    });
    ExportMetricsServiceResponse { partial_success }
}

/// As [`accept_traces`], for logs.
pub(crate) fn accept_logs(
    shared: &Shared,
    request: ExportLogsServiceRequest,
) -> ExportLogsServiceResponse {
    let dropped = lock(&shared.buffer).push_logs(request);
    let partial_success = (dropped > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: i64::try_from(dropped).unwrap_or(i64::MAX),
        error_message: over_cap("log records", dropped),
    });
    ExportLogsServiceResponse { partial_success }
}
