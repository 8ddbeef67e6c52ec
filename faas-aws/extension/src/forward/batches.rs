//! [`HeldBatch`] and [`batches`]: held requests of one signal grouped into upstream requests of a
//! bounded size, whose body is their bytes concatenated (OTLP requests concatenate into one
//! valid request: nothing is decoded or encoded again).

use bytes::Bytes;
use prost::Message;

use crate::buffer::{Held, Signal, exact, item_count, split_request};

/// Largest batch body sent in one request.
pub(crate) const MAX_BATCH_BYTES: usize = 1 << 20;

/// Held requests of one signal sent upstream as one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeldBatch {
    signal: Signal,
    parts: Vec<Held>,
}

impl HeldBatch {
    /// A batch of one held request.
    pub(crate) fn single(signal: Signal, held: Held) -> Self {
        Self {
            signal,
            parts: vec![held],
        }
    }

    /// A batch of `message` (the self-metric, for example), encoded once.
    pub(crate) fn of_message<T: Message>(signal: Signal, message: &T) -> Self {
        Self::single(signal, Held::from_message(signal, message))
    }

    /// Its signal.
    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }

    /// Spans, data points or log records in it.
    pub(crate) fn items(&self) -> u64 {
        self.parts.iter().map(Held::items).sum()
    }

    /// Length of [`Self::body`].
    pub(crate) fn len(&self) -> usize {
        self.parts.iter().map(|p| p.body().len()).sum()
    }

    /// The upstream request's protobuf body: the parts' bytes concatenated (one part: its
    /// bytes, not copied).
    pub(crate) fn body(&self) -> Bytes {
        match self.parts.as_slice() {
            [one] => one.body().clone(),
            parts => {
                let mut body = Vec::with_capacity(self.len());
                for part in parts {
                    body.extend_from_slice(part.body());
                }
                Bytes::from(body)
            }
        }
    }

    /// The held requests, to keep them for a later export.
    pub(crate) fn into_parts(self) -> Vec<Held> {
        self.parts
    }

    /// Two batches with the same content together, each about half the size (for an upstream
    /// that answered `413`): by parts when there are several, else the one request split by
    /// resource entries, scopes or items. `Err(self)` when it holds a single item.
    pub(crate) fn split_in_two(mut self) -> Result<(HeldBatch, HeldBatch), HeldBatch> {
        if self.parts.len() >= 2 {
            let total = self.len();
            let mut at = 0usize;
            let mut cut = self.parts.len() - 1;
            for (i, part) in self.parts.iter().enumerate() {
                at += part.body().len();
                if at * 2 >= total {
                    cut = (i + 1).min(self.parts.len() - 1);
                    break;
                }
            }
            let second = self.parts.split_off(cut.max(1));
            let signal = self.signal;
            return Ok((
                self,
                HeldBatch {
                    signal,
                    parts: second,
                },
            ));
        }
        let Some(only) = self.parts.first() else {
            return Err(self);
        };
        let halves = match split_request(only.body()) {
            Ok(Some(halves)) => halves,
            _ => return Err(self),
        };
        let signal = self.signal;
        let half = |bytes: Vec<u8>| {
            let items = item_count(signal, &bytes).unwrap_or(0);
            HeldBatch::single(signal, Held::from_parts(exact(bytes), items))
        };
        Ok((half(halves.0), half(halves.1)))
    }
}

/// `held` in order, grouped into batches of at most [`MAX_BATCH_BYTES`] (a single larger
/// request stays alone).
pub(crate) fn batches(signal: Signal, held: Vec<Held>) -> Vec<HeldBatch> {
    let mut out: Vec<HeldBatch> = Vec::new();
    let mut size = 0usize;
    for part in held {
        let len = part.body().len();
        match out.last_mut() {
            Some(last) if size.saturating_add(len) <= MAX_BATCH_BYTES => {
                size += len;
                last.parts.push(part);
            }
            _ => {
                size = len;
                out.push(HeldBatch::single(signal, part));
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn request(name_len: usize, spans: usize) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![
                        Span {
                            name: "x".repeat(name_len),
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

    fn held(name_len: usize, spans: usize) -> Held {
        Held::from_message(Signal::Traces, &request(name_len, spans))
    }

    fn decoded(batch: &HeldBatch) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest::decode(batch.body()).unwrap()
    }

    #[test]
    fn merges_up_to_the_batch_size_in_order_by_concatenation() {
        let small = vec![held(10, 1), held(11, 1), held(12, 1)];
        let merged = batches(Signal::Traces, small);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].items(), 3);
        let names: Vec<usize> = crate::otlp::spans(&decoded(&merged[0]))
            .map(|s| s.name.len())
            .collect();
        assert_eq!(names, [10, 11, 12]);
        let big = vec![
            held(MAX_BATCH_BYTES / 2, 1),
            held(MAX_BATCH_BYTES / 2, 1),
            held(10, 1),
        ];
        let merged = batches(Signal::Traces, big);
        assert_eq!(merged.len(), 2);
        assert_eq!(decoded(&merged[1]).resource_spans.len(), 2);
    }

    #[test]
    fn split_in_two_keeps_every_item_until_one_is_left() {
        // Several parts: by parts.
        let batch = batches(Signal::Traces, vec![held(5, 2), held(6, 3), held(7, 4)]).remove(0);
        let whole = decoded(&batch);
        let (a, b) = batch.split_in_two().unwrap();
        assert_eq!((a.items(), b.items()), (5, 4));
        let mut again = decoded(&a);
        again.resource_spans.extend(decoded(&b).resource_spans);
        assert_eq!(again, whole);

        // One request with one scope of 5 spans: by spans, down to single spans.
        let mut pending = vec![HeldBatch::single(Signal::Traces, held(3, 5))];
        let mut singles = Vec::new();
        while let Some(batch) = pending.pop() {
            match batch.split_in_two() {
                Ok((a, b)) => {
                    assert!(a.items() >= 1 && b.items() >= 1);
                    pending.push(b);
                    pending.push(a);
                }
                Err(single) => singles.push(single),
            }
        }
        assert_eq!(singles.len(), 5);
        assert!(singles.iter().all(|s| s.items() == 1));
        assert!(
            singles.iter().all(|s| decoded(s) == request(3, 1)),
            "each half keeps its resource and scope"
        );
    }
}
