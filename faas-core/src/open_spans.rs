//! The spans still open under each invocation in flight, so that a watchdog (timeout) or the
//! panic hook can end them as errors when the handler never will.
//!
//! The SDK keeps no registry of open spans: a span belongs to whoever started it (a hung SDK
//! call, a `tracing` span inside the handler). [`OpenSpans`] is a span processor wrapped around
//! the pipeline's own: `on_start` keeps a copy of every span started under a watched invocation
//! span (directly or through open descendants), `on_end` forgets it. Ending them "from outside"
//! hands that copy, ended now with error status and `error.type`, to the pipeline; the id goes
//! on a bounded tombstone list so that the real span, should it end later after all, is not
//! recorded a second time.
//!
//! Cost on the happy path: with no invocation in flight `on_start`/`on_end` are one atomic load
//! each; under an invocation, one short lock and the copy of the span's start data (what the SDK
//! copies anyway when the span ends). The tracked set is bounded ([`MAX_OPEN`]); beyond it new
//! spans are simply not tracked.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use crate::attributes::semconv::attribute as attr;
use crate::watchdog_timer::Timers;

/// Most spans tracked at once over all invocations in flight; more are not tracked.
pub const MAX_OPEN: usize = 1024;
/// Most ids remembered as ended from outside (older ones are forgotten first).
const MAX_TOMBSTONES: usize = 4096;

/// The registry; see the module docs. Shared by the tracker in the tracer provider and the
/// telemetry.
#[derive(Default)]
pub(crate) struct OpenSpans {
    /// Invocations watched plus spans tracked plus tombstones: 0 means nothing to do.
    busy: AtomicUsize,
    state: Mutex<State>,
    /// The pipeline's processor, which receives every ended span (real or ended from outside).
    inner: OnceLock<Box<dyn SpanProcessor>>,
    /// The watchdogs of the invocations in flight.
    timers: Timers,
}

impl std::fmt::Debug for OpenSpans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenSpans")
            .field("busy", &self.busy.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    watched: HashSet<SpanId>,
    /// Open span -> (the invocation span it belongs to, its start data).
    open: HashMap<SpanId, (SpanId, SpanData)>,
    tombstones: HashSet<SpanId>,
    tombstone_order: VecDeque<SpanId>,
}

impl State {
    fn weight(&self) -> usize {
        self.watched.len() + self.open.len() + self.tombstones.len()
    }
}

impl OpenSpans {
    /// A shared, empty registry.
    pub(crate) fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.lock();
        let result = f(&mut state);
        self.busy.store(state.weight(), Ordering::Release);
        result
    }

    /// The span processor to install: it tracks, then hands every ended span to `inner`.
    pub(crate) fn wrap(
        self: &std::sync::Arc<Self>,
        inner: impl SpanProcessor + 'static,
    ) -> Tracking {
        let _ = self.inner.set(Box::new(inner));
        Tracking(self.clone())
    }

    /// The watchdogs of the invocations in flight.
    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Starts tracking the spans started under the invocation span `invocation`.
    pub(crate) fn watch(&self, invocation: SpanId) {
        self.update(|state| state.watched.insert(invocation));
    }

    /// Stops tracking for `invocation` (its spans that end later are exported as usual).
    pub(crate) fn unwatch(&self, invocation: SpanId) {
        self.update(|state| {
            state.watched.remove(&invocation);
            state.open.retain(|_, (owner, _)| *owner != invocation);
        });
    }

    /// Number of spans open under `invocation`.
    #[cfg(test)]
    pub(crate) fn open_under(&self, invocation: SpanId) -> usize {
        self.lock()
            .open
            .values()
            .filter(|(owner, _)| *owner == invocation)
            .count()
    }

    /// Ends every span still open under `invocation` now, with error status `message` and
    /// `error.type` = `error_type`, and hands them to the pipeline; their real ends, if they
    /// come, are dropped. Returns how many it ended.
    pub(crate) fn end_open_under(
        &self,
        invocation: SpanId,
        error_type: &str,
        message: &str,
    ) -> usize {
        let ended: Vec<SpanData> = self.update(|state| {
            let ids: Vec<SpanId> = state
                .open
                .iter()
                .filter(|(_, (owner, _))| *owner == invocation)
                .map(|(id, _)| *id)
                .collect();
            let mut ended = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some((_, data)) = state.open.remove(&id) {
                    ended.push(data);
                }
                if state.tombstones.insert(id) {
                    state.tombstone_order.push_back(id);
                }
                while state.tombstone_order.len() > MAX_TOMBSTONES {
                    if let Some(old) = state.tombstone_order.pop_front() {
                        state.tombstones.remove(&old);
                    }
                }
            }
            ended
        });
        let count = ended.len();
        let now = SystemTime::now();
        if let Some(inner) = self.inner.get() {
            for mut data in ended {
                data.end_time = now.max(data.start_time);
                data.status = Status::error(message.to_owned());
                data.attributes
                    .push(KeyValue::new(attr::ERROR_TYPE, error_type.to_owned()));
                inner.on_end(data);
            }
        }
        count
    }

    fn on_start(&self, span: &Span, cx: &Context) {
        if self.busy.load(Ordering::Acquire) == 0 {
            return;
        }
        let parent = cx.span().span_context().span_id();
        if parent == SpanId::INVALID {
            return;
        }
        let id = opentelemetry::trace::Span::span_context(span).span_id();
        self.update(|state| {
            if state.open.len() >= MAX_OPEN {
                return;
            }
            let owner = if state.watched.contains(&parent) {
                parent
            } else if let Some((owner, _)) = state.open.get(&parent) {
                *owner
            } else {
                return;
            };
            if let Some(data) = span.exported_data() {
                state.open.insert(id, (owner, data));
            }
        });
    }

    /// Whether the ended span goes on to the pipeline (no: it was ended from outside already).
    fn on_end(&self, span: &SpanData) -> bool {
        if self.busy.load(Ordering::Acquire) == 0 {
            return true;
        }
        let id = span.span_context.span_id();
        self.update(|state| {
            state.open.remove(&id);
            !state.tombstones.contains(&id)
        })
    }
}

/// The span processor of [`OpenSpans`] (see [`OpenSpans::wrap`]).
#[derive(Debug)]
pub(crate) struct Tracking(std::sync::Arc<OpenSpans>);

impl SpanProcessor for Tracking {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
        if let Some(inner) = self.0.inner.get() {
            inner.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        if self.0.on_end(&span)
            && let Some(inner) = self.0.inner.get()
        {
            inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0
            .inner
            .get()
            .map_or(Ok(()), |inner| inner.force_flush())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0
            .inner
            .get()
            .map_or(Ok(()), |inner| inner.shutdown_with_timeout(timeout))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};

    fn provider() -> (
        SdkTracerProvider,
        std::sync::Arc<OpenSpans>,
        InMemorySpanExporter,
    ) {
        let exporter = InMemorySpanExporter::default();
        let open = OpenSpans::new();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(open.wrap(SimpleSpanProcessor::new(exporter.clone())))
            .build();
        (provider, open, exporter)
    }

    #[test]
    fn open_descendants_end_once_as_errors_and_their_late_end_is_dropped() {
        let (provider, open, exporter) = provider();
        let tracer = provider.tracer("t");
        let root = tracer.start("invocation");
        let root_id = root.span_context().span_id();
        let root_cx = Context::new().with_span(root);
        open.watch(root_id);
        let mut hung = tracer.start_with_context("hung sdk call", &root_cx);
        hung.set_attribute(KeyValue::new("late", true));
        let hung_cx = root_cx.with_span(hung);
        let mut grandchild = tracer.start_with_context("inner", &hung_cx);
        let mut done = tracer.start_with_context("done", &root_cx);
        done.end();
        assert_eq!(open.open_under(root_id), 2);
        let outside = tracer.start("unrelated");
        drop(outside);

        assert_eq!(open.end_open_under(root_id, "timeout", "timed out"), 2);
        assert_eq!(open.end_open_under(root_id, "timeout", "timed out"), 0);
        // The real spans end after all: nothing is recorded twice.
        grandchild.end();
        hung_cx.span().end();
        let spans = exporter.get_finished_spans().unwrap();
        let mut names: Vec<_> = spans.iter().map(|s| s.name.as_ref()).collect();
        names[2..].sort_unstable();
        assert_eq!(names, ["done", "unrelated", "hung sdk call", "inner"]);
        for ended in &spans[2..] {
            assert_eq!(ended.status, Status::error("timed out"));
            assert!(
                ended
                    .attributes
                    .contains(&KeyValue::new(attr::ERROR_TYPE, "timeout"))
            );
            assert_eq!(
                ended.parent_span_id == root_id,
                ended.name == "hung sdk call"
            );
        }
        // Attributes set after the start are not in the copy (the span's start data only).
        assert!(
            !spans
                .iter()
                .any(|s| s.attributes.iter().any(|kv| kv.key.as_str() == "late"))
        );
        open.unwatch(root_id);
        root_cx.span().end();
        assert_eq!(exporter.get_finished_spans().unwrap().len(), 5);
    }

    #[test]
    fn unwatched_invocations_track_nothing() {
        let (provider, open, exporter) = provider();
        let tracer = provider.tracer("t");
        let root = tracer.start("invocation");
        let root_id = root.span_context().span_id();
        let root_cx = Context::new().with_span(root);
        open.watch(root_id);
        open.unwatch(root_id);
        let _child = tracer.start_with_context("child", &root_cx);
        assert_eq!(open.open_under(root_id), 0);
        assert_eq!(open.busy.load(Ordering::Relaxed), 0);
        assert_eq!(open.end_open_under(root_id, "timeout", "x"), 0);
        drop(_child);
        assert_eq!(exporter.get_finished_spans().unwrap().len(), 1);
    }

    #[test]
    fn tracking_is_bounded() {
        let (provider, open, _exporter) = provider();
        let tracer = provider.tracer("t");
        let root = tracer.start("invocation");
        let root_id = root.span_context().span_id();
        let root_cx = Context::new().with_span(root);
        open.watch(root_id);
        let spans: Vec<_> = (0..MAX_OPEN + 10)
            .map(|_| tracer.start_with_context("c", &root_cx))
            .collect();
        assert_eq!(open.open_under(root_id), MAX_OPEN);
        drop(spans);
        assert_eq!(open.open_under(root_id), 0);
    }
}
