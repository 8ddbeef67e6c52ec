//! [`Buffer`]: what the extension holds between the function's flush and the upstream export:
//! decoded OTLP requests per signal, bounded by a memory cap in encoded bytes, with every drop
//! counted.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use super::counts::{point_count, record_count, span_count};
use super::dropped::Dropped;

/// The bounded store.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    /// Trace requests in arrival order.
    pub(crate) traces: Vec<ExportTraceServiceRequest>,
    /// Metrics requests in arrival order.
    pub(crate) metrics: Vec<ExportMetricsServiceRequest>,
    /// Logs requests in arrival order.
    pub(crate) logs: Vec<ExportLogsServiceRequest>,
    bytes: usize,
    limit: usize,
    /// Drops since the extension started.
    pub(crate) dropped: Dropped,
    /// Drops not yet reported upstream as a self-metric.
    pub(crate) unreported: Dropped,
}

impl Buffer {
    /// An empty buffer holding at most `limit` encoded bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Encoded bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.traces.is_empty() && self.metrics.is_empty() && self.logs.is_empty()
    }

    fn admit(&mut self, size: usize) -> bool {
        if self.bytes + size > self.limit {
            return false;
        }
        self.bytes += size;
        true
    }

    /// Keeps `request`, or drops it whole when it does not fit; returns the spans dropped.
    pub(crate) fn push_traces(&mut self, request: ExportTraceServiceRequest) -> u64 {
        if self.admit(request.encoded_len()) {
            self.traces.push(request);
            0
        } else {
            let n = span_count(&request);
            self.dropped.spans += n;
            self.unreported.spans += n;
            n
        }
    }

    /// As [`Self::push_traces`] for metrics; returns the points dropped.
    pub(crate) fn push_metrics(&mut self, request: ExportMetricsServiceRequest) -> u64 {
        if self.admit(request.encoded_len()) {
            self.metrics.push(request);
            0
        } else {
            let n = point_count(&request);
            self.dropped.points += n;
            self.unreported.points += n;
            n
        }
    }

    /// As [`Self::push_traces`] for logs; returns the records dropped.
    pub(crate) fn push_logs(&mut self, request: ExportLogsServiceRequest) -> u64 {
        if self.admit(request.encoded_len()) {
            self.logs.push(request);
            0
        } else {
            let n = record_count(&request);
            self.dropped.records += n;
            self.unreported.records += n;
            n
        }
    }

    /// Takes everything held (the byte count goes back to zero).
    pub(crate) fn take(&mut self) -> Buffer {
        let taken = Buffer {
            traces: std::mem::take(&mut self.traces),
            metrics: std::mem::take(&mut self.metrics),
            logs: std::mem::take(&mut self.logs),
            bytes: self.bytes,
            limit: self.limit,
            dropped: Dropped::default(),
            unreported: Dropped::default(),
        };
        self.bytes = 0;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn request(spans: usize) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        Span {
                            name: "x".repeat(100),
                            ..Span::default()
                        };
                        spans
                    ],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn the_cap_drops_whole_requests_and_counts_their_spans() {
        let one = request(10).encoded_len();
        let mut buffer = Buffer::new(one * 2);
        assert_eq!(buffer.push_traces(request(10)), 0);
        assert_eq!(buffer.push_traces(request(10)), 0);
        assert_eq!(buffer.push_traces(request(10)), 10);
        assert_eq!(buffer.dropped.spans, 10);
        assert_eq!(buffer.bytes(), one * 2);
        let taken = buffer.take();
        assert_eq!(taken.traces.len(), 2);
        assert_eq!(buffer.bytes(), 0);
        assert_eq!(buffer.push_traces(request(10)), 0);
    }
}
