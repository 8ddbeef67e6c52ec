//! Where ended spans wait for the next flush: a bounded in-memory queue behind a span
//! processor that never does I/O.
//!
//! Ending a span costs one short lock and a push. Nothing runs in the background: on a
//! serverless platform background threads are frozen between invocations, so spans leave the
//! queue only when the flush after an invocation (or the final drain) takes them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// The bounded queue shared by the processor and the flush.
#[derive(Debug)]
pub(crate) struct SpanBuffer {
    spans: Mutex<Vec<SpanData>>,
    capacity: usize,
    dropped: AtomicU64,
}

impl SpanBuffer {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            spans: Mutex::new(Vec::new()),
            capacity,
            dropped: AtomicU64::new(0),
        })
    }

    fn push(&self, span: SpanData) {
        let mut spans = match self.spans.lock() {
            Ok(spans) => spans,
            Err(poisoned) => poisoned.into_inner(),
        };
        if spans.len() < self.capacity {
            spans.push(span);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes every queued span.
    pub(crate) fn drain(&self) -> Vec<SpanData> {
        let mut spans = match self.spans.lock() {
            Ok(spans) => spans,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::take(&mut *spans)
    }

    /// Takes the count of spans dropped because the queue was full.
    pub(crate) fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    /// Number of spans waiting.
    pub(crate) fn len(&self) -> usize {
        self.spans.lock().map(|s| s.len()).unwrap_or(0)
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
