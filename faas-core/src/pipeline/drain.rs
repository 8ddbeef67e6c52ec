//! The drain: one export at a time from the span queue to the collector, within a budget,
//! keeping what a collector fault could not take.
//!
//! - **One export at a time.** A flush takes the exporter (an async mutex, fair: first come,
//!   first served). A flush that starts while another is exporting waits for it, at most its
//!   own budget; if the budget runs out first it leaves its spans queued (`deferred_spans`)
//!   for the next flush. No flush ever drops spans it did not take itself.
//! - **Nothing that fits is lost.** A batch whose export failed transiently (refused, reset,
//!   429/502/503/504, gRPC `UNAVAILABLE`...) or ran out of budget goes back to the FRONT of
//!   the queue. The queue stays bounded by `OTEL_BSP_MAX_QUEUE_SIZE`: the oldest spans leave
//!   first. A batch the collector rejects for good (an answer OTLP says must not be retried)
//!   is dropped and counted. A timed-out export may have reached the collector after all: the
//!   re-sent spans are then delivered twice (at least once, never silently lost).
//! - **Back-off.** After a transient failure or a stall no attempt is made until the back-off
//!   interval has passed ([`super::backoff`]): those flushes cost a lock and a length. The
//!   final drain (shutdown, SIGTERM, drop, the SDK's own flush) attempts regardless.
//! - **Drops counted once.** Every lost span is added to the `dropped_spans` of exactly one
//!   [`FlushReport`] and to [`super::metrics::SPANS_DROPPED_METRIC`], before the metrics of
//!   the same flush are collected.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_semantic_conventions::attribute::ERROR_TYPE;

use super::backoff::{Backoff, BackoffSettings};
use super::export_deadline;
use super::export_error::{Failure, classify};
use super::exporter::{
    DynMetricExporter, DynSpanExporter, MetricExporterFactory, SpanExporterFactory,
};
use super::flush::FlushReport;
use super::metrics::{DROP_NO_EXPORTER, DROP_QUEUE_FULL, DROP_REJECTED, SharedReader};
use super::span_buffer::SpanBuffer;

/// Whether a flush respects the back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// A flush after an invocation: no attempt while backing off.
    Regular,
    /// The last chance (shutdown, SIGTERM, drop, the SDK's flush): attempts regardless.
    Final,
}

/// The exporters one drain sends through.
#[derive(Clone, Default)]
pub(crate) struct Exporters {
    pub(crate) spans: Option<Arc<dyn DynSpanExporter>>,
    pub(crate) metrics: Option<Arc<dyn DynMetricExporter>>,
}

/// Says which exporters there are, nothing of them: opentelemetry-otlp's own `Debug` prints
/// the export headers, API keys included.
impl std::fmt::Debug for Exporters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporters")
            .field("spans", &self.spans.is_some())
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// How to make fresh exporters, for the blocking drain on a runtime of its own.
#[derive(Clone, Default)]
pub(crate) struct Factories {
    pub(crate) spans: Option<SpanExporterFactory>,
    pub(crate) metrics: Option<MetricExporterFactory>,
}

impl std::fmt::Debug for Factories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factories").finish_non_exhaustive()
    }
}

/// Everything a flush needs, shared with the span processor (for the SDK's own
/// `force_flush`/`shutdown`, which are synchronous).
#[derive(Debug)]
pub(crate) struct Drain {
    pub(crate) buffer: Arc<SpanBuffer>,
    exporters: Exporters,
    metric_reader: Option<SharedReader>,
    factories: Factories,
    resource: Resource,
    /// Held by the flush that is exporting.
    exporting: tokio::sync::Mutex<()>,
    backoff: Backoff,
    spans_dropped: Counter<u64>,
}

/// The parts a [`Drain`] is made of.
pub(crate) struct DrainParts {
    pub(crate) buffer: Arc<SpanBuffer>,
    pub(crate) exporters: Exporters,
    pub(crate) metric_reader: Option<SharedReader>,
    pub(crate) factories: Factories,
    pub(crate) resource: Resource,
    pub(crate) backoff: BackoffSettings,
    pub(crate) spans_dropped: Counter<u64>,
}

impl Drain {
    pub(crate) fn new(parts: DrainParts) -> Self {
        Self {
            buffer: parts.buffer,
            exporters: parts.exporters,
            metric_reader: parts.metric_reader,
            factories: parts.factories,
            resource: parts.resource,
            exporting: tokio::sync::Mutex::new(()),
            backoff: Backoff::new(parts.backoff),
            spans_dropped: parts.spans_dropped,
        }
    }

    /// Whether spans have somewhere to go.
    pub(crate) fn has_span_exporter(&self) -> bool {
        self.exporters.spans.is_some()
    }

    /// Exports the queue (and the metrics when `with_metrics`) within `budget`, counted from
    /// `started`, on the caller's runtime.
    pub(crate) async fn export(
        &self,
        budget: Duration,
        with_metrics: bool,
        started: Instant,
        attempt: Attempt,
    ) -> FlushReport {
        self.export_with(&self.exporters, budget, with_metrics, started, attempt)
            .await
    }

    async fn export_with(
        &self,
        exporters: &Exporters,
        budget: Duration,
        with_metrics: bool,
        started: Instant,
        attempt: Attempt,
    ) -> FlushReport {
        let mut report = FlushReport {
            budget,
            ..FlushReport::default()
        };
        let _exporting = match self.exporting.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                report.waited_for_in_flight = true;
                let left = budget.saturating_sub(started.elapsed());
                match tokio::time::timeout(left, self.exporting.lock()).await {
                    Ok(guard) => guard,
                    Err(_) => {
                        // The other flush still has the exporter: our spans wait for the next.
                        report.deferred_spans = self.buffer.len() as u64;
                        report.backoff = self.backoff.wait_at(Instant::now());
                        return report;
                    }
                }
            }
        };
        let full = self.buffer.take_dropped();
        self.count_dropped(&mut report, full, DROP_QUEUE_FULL);
        if attempt == Attempt::Regular
            && let Some(wait) = self.backoff.wait_at(Instant::now())
        {
            report.deferred_spans = self.buffer.len() as u64;
            report.backoff = Some(wait);
            return report;
        }
        self.export_spans(exporters, &mut report, budget, started)
            .await;
        if with_metrics && report.backoff.is_none() {
            self.export_metrics(exporters, &mut report, budget, started)
                .await;
        }
        report
    }

    async fn export_spans(
        &self,
        exporters: &Exporters,
        report: &mut FlushReport,
        budget: Duration,
        started: Instant,
    ) {
        let spans = self.buffer.drain();
        if spans.is_empty() {
            return;
        }
        let count = spans.len() as u64;
        let Some(exporter) = &exporters.spans else {
            self.count_dropped(report, count, DROP_NO_EXPORTER);
            return;
        };
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            let lost = self.buffer.requeue(spans);
            report.deferred_spans = count.saturating_sub(lost);
            self.count_dropped(report, lost, DROP_QUEUE_FULL);
            return;
        }
        // The exporter consumes its batch, also when the budget cancels it: keep a copy to
        // put back.
        let kept = spans.clone();
        let exported = match tokio::time::Instant::now().checked_add(left) {
            Some(deadline) => {
                let export = export_deadline::scope(deadline, exporter.export_boxed(spans));
                tokio::time::timeout_at(deadline, export).await
            }
            // A budget past the clock's range: no deadline to share.
            None => tokio::time::timeout(left, exporter.export_boxed(spans)).await,
        };
        match exported {
            Ok(Ok(())) => {
                report.exported_spans = count;
                self.backoff.succeeded();
            }
            Ok(Err(error)) => {
                report.error = Some(error.to_string());
                match classify(&error) {
                    Failure::Transient => self.put_back(report, kept),
                    Failure::Permanent => {
                        // The collector answered: it is up, only this batch is refused.
                        self.backoff.succeeded();
                        self.count_dropped(report, count, DROP_REJECTED);
                    }
                }
            }
            Err(_) => {
                report.timed_out = true;
                self.put_back(report, kept);
            }
        }
    }

    /// Requeues a batch the collector could not take now and starts (or lengthens) the
    /// back-off.
    fn put_back(&self, report: &mut FlushReport, batch: Vec<SpanData>) {
        let count = batch.len() as u64;
        let lost = self.buffer.requeue(batch);
        report.requeued_spans = count.saturating_sub(lost);
        self.count_dropped(report, lost, DROP_QUEUE_FULL);
        self.back_off(report);
    }

    fn back_off(&self, report: &mut FlushReport) {
        let interval = self.backoff.failed(Instant::now());
        report.backoff = Some(interval).filter(|i| !i.is_zero());
    }

    async fn export_metrics(
        &self,
        exporters: &Exporters,
        report: &mut FlushReport,
        budget: Duration,
        started: Instant,
    ) {
        let (Some(reader), Some(exporter)) = (&self.metric_reader, &exporters.metrics) else {
            return;
        };
        let left = budget.saturating_sub(started.elapsed());
        let mut collected = ResourceMetrics::default();
        if left.is_zero() || reader.collect(&mut collected).is_err() {
            return;
        }
        // Cumulative temporality: a failed export loses nothing, the next one carries it.
        match tokio::time::timeout(left, exporter.export_boxed(&collected)).await {
            Ok(Ok(())) => report.metrics_exported = true,
            Ok(Err(error)) => {
                if classify(&error) == Failure::Transient {
                    self.back_off(report);
                }
                report.error.get_or_insert_with(|| error.to_string());
            }
            Err(_) => {
                report.timed_out = true;
                self.back_off(report);
            }
        }
    }

    fn count_dropped(&self, report: &mut FlushReport, count: u64, reason: &'static str) {
        if count == 0 {
            return;
        }
        report.dropped_spans = report.dropped_spans.saturating_add(count);
        self.spans_dropped
            .add(count, &[KeyValue::new(ERROR_TYPE, reason)]);
    }

    /// The synchronous drain used by the SDK's `force_flush`/`shutdown` and on drop: a
    /// final attempt on a thread of its own with its own runtime and fresh connections (a
    /// connection made on the caller's runtime cannot make progress while that runtime is
    /// blocked here). It waits for an in-flight flush like any other, within `budget`.
    pub(crate) fn blocking(&self, budget: Duration, with_metrics: bool) -> FlushReport {
        if self.buffer.len() == 0 && !(with_metrics && self.metric_reader.is_some()) {
            let mut report = FlushReport::default();
            let full = self.buffer.take_dropped();
            self.count_dropped(&mut report, full, DROP_QUEUE_FULL);
            return report;
        }
        let fresh = Exporters {
            spans: self
                .factories
                .spans
                .as_ref()
                .and_then(|make| make(&self.resource).ok()),
            metrics: self.factories.metrics.as_ref().and_then(|make| make().ok()),
        };
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return FlushReport::default();
                    };
                    let started = Instant::now();
                    let mut report = runtime.block_on(self.export_with(
                        &fresh,
                        budget,
                        with_metrics,
                        started,
                        Attempt::Final,
                    ));
                    report.elapsed = started.elapsed();
                    report
                })
                .join()
                .unwrap_or_default()
        })
    }
}
