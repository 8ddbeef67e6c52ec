//! Where ended spans wait for the next flush: a bounded in-memory queue behind a span
//! processor that never does I/O.
//!
//! Ending a span costs one short lock and a push. Nothing runs in the background: on a
//! serverless platform background threads are frozen between invocations, so spans leave the
//! queue only when the flush after an invocation (or the final drain) takes them, and a batch
//! whose export failed comes back to the front of the queue ([`SpanBuffer::requeue`]).
//!
//! The queue holds at most `OTEL_BSP_MAX_QUEUE_SIZE` spans. When it is full the OLDEST span
//! leaves to make room, and is counted: after a long collector outage the spans kept are the
//! most recent ones, the ones that explain the state the function is in now.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// The bounded queue shared by the processor and the flush.
#[derive(Debug)]
pub(crate) struct SpanBuffer {
    spans: Mutex<VecDeque<SpanData>>,
    capacity: usize,
    dropped: AtomicU64,
}

impl SpanBuffer {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            spans: Mutex::new(VecDeque::new()),
            capacity,
            dropped: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<SpanData>> {
        match self.spans.lock() {
            Ok(spans) => spans,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Queues `span` at the back; when the queue is full the oldest span is dropped (and
    /// counted) to make room.
    pub(crate) fn push(&self, span: SpanData) {
        let mut spans = self.lock();
        if self.capacity == 0 {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if spans.len() >= self.capacity {
            let _oldest = spans.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        spans.push_back(span);
    }

    /// Puts `batch` (spans taken by a flush whose export failed) back at the FRONT of the
    /// queue, before the spans that ended meanwhile, which are younger. Whatever exceeds the
    /// capacity is dropped oldest first. Returns how many were dropped: the caller reports
    /// them (they are not added to [`SpanBuffer::take_dropped`]'s count).
    pub(crate) fn requeue(&self, batch: Vec<SpanData>) -> u64 {
        let mut spans = self.lock();
        let room = self.capacity.saturating_sub(spans.len());
        let excess = batch.len().saturating_sub(room);
        let mut dropped = excess as u64;
        // `batch` is oldest first: skip its oldest `excess` spans, keep the rest in order.
        for span in batch.into_iter().skip(excess).rev() {
            spans.push_front(span);
        }
        // The queue can only exceed the capacity if the capacity is zero.
        while spans.len() > self.capacity {
            let _oldest = spans.pop_front();
            dropped = dropped.saturating_add(1);
        }
        dropped
    }

    /// Takes every queued span, oldest first.
    pub(crate) fn drain(&self) -> Vec<SpanData> {
        Vec::from(std::mem::take(&mut *self.lock()))
    }

    /// Takes the count of spans dropped because the queue was full.
    pub(crate) fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    /// Number of spans waiting.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The span processor: `on_end` queues, nothing else happens until a flush.
pub(crate) struct BufferingProcessor {
    pub(crate) buffer: Arc<SpanBuffer>,
    /// What the SDK's own `force_flush`/`shutdown` do: a bounded blocking drain.
    pub(crate) on_sdk_flush: Arc<dyn Fn(Duration) + Send + Sync>,
    pub(crate) shutdown_timeout: Duration,
}

impl std::fmt::Debug for BufferingProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferingProcessor")
            .field("buffer", &self.buffer)
            .finish_non_exhaustive()
    }
}

impl SpanProcessor for BufferingProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.buffer.push(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        (self.on_sdk_flush)(self.shutdown_timeout);
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        (self.on_sdk_flush)(timeout.min(self.shutdown_timeout));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::borrow::Cow;
    use std::time::SystemTime;

    fn span(name: &str) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(1),
                SpanId::from(1),
                TraceFlags::SAMPLED,
                false,
                Default::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Owned(name.to_owned()),
            start_time: SystemTime::UNIX_EPOCH,
            end_time: SystemTime::UNIX_EPOCH,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }

    fn names(buffer: &SpanBuffer) -> Vec<String> {
        buffer
            .drain()
            .into_iter()
            .map(|s| s.name.into_owned())
            .collect()
    }

    fn batch(names: &[&str]) -> Vec<SpanData> {
        names.iter().map(|n| span(n)).collect()
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let buffer = SpanBuffer::new(3);
        for n in ["a", "b", "c", "d", "e"] {
            buffer.push(span(n));
        }
        assert_eq!(buffer.take_dropped(), 2);
        assert_eq!(names(&buffer), ["c", "d", "e"]);
        assert_eq!(buffer.take_dropped(), 0, "each drop is reported once");
    }

    #[test]
    fn a_requeued_batch_goes_before_the_younger_spans() {
        let buffer = SpanBuffer::new(10);
        buffer.push(span("new"));
        assert_eq!(buffer.requeue(batch(&["old1", "old2"])), 0);
        assert_eq!(names(&buffer), ["old1", "old2", "new"]);
    }

    #[test]
    fn a_requeue_beyond_the_capacity_drops_its_oldest() {
        let buffer = SpanBuffer::new(4);
        buffer.push(span("new1"));
        buffer.push(span("new2"));
        assert_eq!(buffer.requeue(batch(&["o1", "o2", "o3", "o4"])), 2);
        assert_eq!(buffer.take_dropped(), 0, "the caller reports them");
        assert_eq!(names(&buffer), ["o3", "o4", "new1", "new2"]);
    }

    #[test]
    fn a_requeue_into_a_queue_full_of_younger_spans_drops_the_whole_batch() {
        let buffer = SpanBuffer::new(2);
        buffer.push(span("n1"));
        buffer.push(span("n2"));
        assert_eq!(buffer.requeue(batch(&["o1"])), 1);
        assert_eq!(names(&buffer), ["n1", "n2"]);
    }

    #[test]
    fn a_zero_capacity_keeps_nothing_and_counts_everything() {
        let buffer = SpanBuffer::new(0);
        buffer.push(span("a"));
        assert_eq!(buffer.requeue(batch(&["b", "c"])), 2);
        assert_eq!(buffer.len(), 0);
        assert_eq!(buffer.take_dropped(), 1);
    }
}
