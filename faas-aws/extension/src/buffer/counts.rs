//! How many items a request holds, per signal: what a drop or a delivery counts.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// Spans in a trace request.
pub(crate) fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    crate::otlp::spans(request).count() as u64
}

/// Data points in a metrics request (one per metric at least).
pub(crate) fn point_count(request: &ExportMetricsServiceRequest) -> u64 {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len() as u64,
            Some(Data::Sum(s)) => s.data_points.len() as u64,
            Some(Data::Histogram(h)) => h.data_points.len() as u64,
            Some(Data::ExponentialHistogram(h)) => h.data_points.len() as u64,
            Some(Data::Summary(s)) => s.data_points.len() as u64,
            None => 0,
        })
        .sum()
}

/// Log records in a logs request.
pub(crate) fn record_count(request: &ExportLogsServiceRequest) -> u64 {
    request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len() as u64)
        .sum()
}
