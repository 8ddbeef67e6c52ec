//! [`Buffer`]: what the extension holds between the function's flush and the upstream export:
//! the received OTLP requests per signal as protobuf bytes ([`Held`]), bounded by a memory cap
//! that counts what is held (the bytes and [`HELD_REQUEST_OVERHEAD`](super::held::HELD_REQUEST_OVERHEAD) per
//! request), with every drop counted.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::dropped::Dropped;
use super::held::Held;
use super::signal::Signal;

/// The bounded store.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    /// Trace requests in arrival order.
    pub(crate) traces: Vec<Held>,
    /// Metrics requests in arrival order.
    pub(crate) metrics: Vec<Held>,
    /// Logs requests in arrival order.
    pub(crate) logs: Vec<Held>,
    bytes: usize,
    limit: usize,
    /// Drops since the extension started.
    pub(crate) dropped: Dropped,
    /// Drops not yet reported upstream as a self-metric.
    pub(crate) unreported: Dropped,
}

impl Buffer {
    /// An empty buffer holding at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Bytes held, as counted against the cap.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.traces.is_empty() && self.metrics.is_empty() && self.logs.is_empty()
    }

    fn held_mut(&mut self, signal: Signal) -> &mut Vec<Held> {
        match signal {
            Signal::Traces => &mut self.traces,
            Signal::Metrics => &mut self.metrics,
            Signal::Logs => &mut self.logs,
        }
    }

    /// Counts `n` items of `signal` as dropped (and to be reported).
    pub(crate) fn count_dropped(&mut self, signal: Signal, n: u64) {
        for dropped in [&mut self.dropped, &mut self.unreported] {
            let counter = match signal {
                Signal::Traces => &mut dropped.spans,
                Signal::Metrics => &mut dropped.points,
                Signal::Logs => &mut dropped.records,
            };
            *counter = counter.saturating_add(n);
        }
    }

    /// Keeps `held`, or drops it whole when it does not fit under the cap; returns the items
    /// dropped (counted).
    pub(crate) fn push(&mut self, signal: Signal, held: Held) -> u64 {
        let size = held.held_bytes();
        if self.bytes.saturating_add(size) > self.limit {
            let n = held.items();
            self.count_dropped(signal, n);
            return n;
        }
        self.bytes += size;
        self.held_mut(signal).push(held);
        0
    }

    /// Keeps a decoded trace request (encoded once, here); returns the spans dropped.
    pub(crate) fn push_traces(&mut self, request: ExportTraceServiceRequest) -> u64 {
        self.push(Signal::Traces, Held::from_message(Signal::Traces, &request))
    }

    /// As [`Self::push_traces`] for metrics; returns the points dropped.
    pub(crate) fn push_metrics(&mut self, request: ExportMetricsServiceRequest) -> u64 {
        self.push(
            Signal::Metrics,
            Held::from_message(Signal::Metrics, &request),
        )
    }

    /// As [`Self::push_traces`] for logs; returns the records dropped.
    pub(crate) fn push_logs(&mut self, request: ExportLogsServiceRequest) -> u64 {
        self.push(Signal::Logs, Held::from_message(Signal::Logs, &request))
    }

    /// Takes the held trace requests out (their bytes no longer counted).
    pub(crate) fn take_traces(&mut self) -> Vec<Held> {
        let traces = std::mem::take(&mut self.traces);
        let bytes: usize = traces.iter().map(Held::held_bytes).sum();
        self.bytes = self.bytes.saturating_sub(bytes);
        traces
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
    use super::super::held::HELD_REQUEST_OVERHEAD;
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

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
        let one = request(10).encoded_len() + HELD_REQUEST_OVERHEAD;
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
        #[cfg(target_pointer_width = "64")]
        assert_eq!(HELD_REQUEST_OVERHEAD, 112, "as the README says");
    }
}
