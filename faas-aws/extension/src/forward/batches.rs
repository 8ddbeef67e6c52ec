//! [`batches`]: requests of one signal merged into upstream requests of a bounded size.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Largest encoded batch sent in one request.
pub(crate) const MAX_BATCH_BYTES: usize = 1 << 20;

/// `requests` merged in order, each batch at most [`MAX_BATCH_BYTES`] (a single larger request
/// stays alone).
pub(crate) fn batches<T: Message>(requests: Vec<T>, merge: fn(&mut T, T)) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for request in requests {
        match out.last_mut() {
            Some(last) if last.encoded_len() + request.encoded_len() <= MAX_BATCH_BYTES => {
                merge(last, request)
            }
            _ => out.push(request),
        }
    }
    out
}

/// Appends the spans of `from` to `into`.
pub(crate) fn merge_traces(into: &mut ExportTraceServiceRequest, from: ExportTraceServiceRequest) {
    into.resource_spans.extend(from.resource_spans);
}

/// Appends the metrics of `from` to `into`.
pub(crate) fn merge_metrics(
    into: &mut ExportMetricsServiceRequest,
    from: ExportMetricsServiceRequest,
) {
    into.resource_metrics.extend(from.resource_metrics);
}

/// Appends the log records of `from` to `into`.
pub(crate) fn merge_logs(into: &mut ExportLogsServiceRequest, from: ExportLogsServiceRequest) {
    into.resource_logs.extend(from.resource_logs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn request(name_len: usize) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        name: "x".repeat(name_len),
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn merges_up_to_the_batch_size_in_order() {
        let small = vec![request(10), request(10), request(10)];
        assert_eq!(batches(small, merge_traces).len(), 1);
        let big = vec![
            request(MAX_BATCH_BYTES / 2),
            request(MAX_BATCH_BYTES / 2),
            request(10),
        ];
        let merged = batches(big, merge_traces);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[1].resource_spans.len(), 2);
    }
}
