//! [`Signal`]: traces, metrics or logs.

use super::schema::{LOGS, METRICS, Schema, TRACES};

/// One OTLP signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Signal {
    /// `ExportTraceServiceRequest`, items are spans.
    Traces,
    /// `ExportMetricsServiceRequest`, items are data points.
    Metrics,
    /// `ExportLogsServiceRequest`, items are log records.
    Logs,
}

impl Signal {
    /// The OTLP/HTTP path of the signal.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
            Self::Logs => "/v1/logs",
        }
    }

    /// What its items are counted as in the drop counts.
    pub(crate) fn counted(self) -> crate::drops::Signal {
        match self {
            Self::Traces => crate::drops::Signal::Spans,
            Self::Metrics => crate::drops::Signal::MetricPoints,
            Self::Logs => crate::drops::Signal::LogRecords,
        }
    }

    /// The request's schema.
    pub(crate) fn schema(self) -> &'static Schema {
        match self {
            Self::Traces => &TRACES,
            Self::Metrics => &METRICS,
            Self::Logs => &LOGS,
        }
    }
}
