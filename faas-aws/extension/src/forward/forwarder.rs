//! [`Forwarder`]: sends what the buffer holds to the upstream OTLP/HTTP endpoint.
//!
//! Requests are merged per signal into batches of at most
//! [`MAX_BATCH_BYTES`](super::batches::MAX_BATCH_BYTES), encoded as the configured protocol,
//! gzipped unless turned off, and sent with the configured headers (see [`send`](super::send)).
//! What could not be delivered goes back into the buffer (within the memory cap; beyond it,
//! dropped and counted). A `413` splits the batch in two and sends the halves (at most
//! [`MAX_SPLIT_DEPTH`] times over). Data refused with another 4xx or a redirect is dropped and
//! counted, since sending it again cannot succeed, and so are the items a `partial_success`
//! rejects. The counts travel upstream as the self-metric
//! [`DROPPED_METRIC`](super::dropped_metric::DROPPED_METRIC), in the same export.
//!
//! One export runs at a time; waiting for the running one is bounded by the caller's deadline
//! (the invocation's or SHUTDOWN's), and what the running one holds is known
//! ([`Forwarder::in_flight`]) until it gave back what it could not deliver.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::buffer::{Buffer, Dropped, Held, Signal as HeldSignal};
use crate::drops::{DropReason, Signal};
use crate::lock::lock;
use crate::state::Shared;

use super::batch::Batch;
use super::batches::{HeldBatch, batches};
use super::client::build_client;
use super::dropped_metric::dropped_metric;
use super::encode::{Encoded, encode};
use super::send::{Sent, send};

/// How many times a batch answered `413` is halved before its items are dropped as too large
/// (2^8 = 256 requests at most from one batch).
pub(crate) const MAX_SPLIT_DEPTH: u32 = 8;

/// What one export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ExportReport {
    /// Requests sent upstream and answered 2xx.
    pub(crate) delivered_requests: u64,
    /// Spans delivered (less those a `partial_success` rejected).
    pub(crate) delivered_spans: u64,
    /// Whether something is left in the buffer for a later export.
    pub(crate) left_over: bool,
    /// Whether another export was still running at the deadline (nothing was sent).
    pub(crate) busy: bool,
}

/// Items held by the export in progress, per signal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct InFlight {
    /// Spans.
    pub(crate) spans: u64,
    /// Metric data points.
    pub(crate) points: u64,
    /// Log records.
    pub(crate) records: u64,
}

/// The upstream client (built on first use: nothing on the cold-start path).
#[derive(Debug)]
pub(crate) struct Forwarder {
    client: OnceLock<Result<reqwest::Client, String>>,
    /// One export at a time (the lifecycle and the background exporter share the forwarder).
    exporting: tokio::sync::Mutex<()>,
    in_flight: Mutex<InFlight>,
}

impl Default for Forwarder {
    fn default() -> Self {
        Self::new()
    }
}

impl Forwarder {
    /// A forwarder; the HTTP client is built at the first export.
    pub(crate) fn new() -> Self {
        Self {
            client: OnceLock::new(),
            exporting: tokio::sync::Mutex::new(()),
            in_flight: Mutex::default(),
        }
    }

    /// Exports everything the buffer holds, within `deadline`. When another export is
    /// running, waits for it first (it gives back what it could not deliver, which this one
    /// then sends), at most until `deadline` (then [`ExportReport::busy`]).
    pub(crate) async fn export(&self, shared: &Shared, deadline: Instant) -> ExportReport {
        let lock = tokio::time::timeout_at(deadline.into(), self.exporting.lock()).await;
        let Ok(_one_at_a_time) = lock else {
            return ExportReport {
                busy: true,
                left_over: true,
                ..ExportReport::default()
            };
        };
        self.export_locked(shared, deadline).await
    }

    /// As [`Self::export`] when no export is running; `None` at once otherwise (the
    /// background exporter never queues behind a running export).
    pub(crate) async fn export_if_idle(
        &self,
        shared: &Shared,
        deadline: Instant,
    ) -> Option<ExportReport> {
        let _one_at_a_time = self.exporting.try_lock().ok()?;
        Some(self.export_locked(shared, deadline).await)
    }

    /// Waits until no export is running, at most until `deadline`; whether none is.
    pub(crate) async fn idle(&self, deadline: Instant) -> bool {
        tokio::time::timeout_at(deadline.into(), self.exporting.lock())
            .await
            .is_ok()
    }

    /// What the running export holds (zero when none runs).
    pub(crate) fn in_flight(&self) -> InFlight {
        *lock(&self.in_flight)
    }

    async fn export_locked(&self, shared: &Shared, deadline: Instant) -> ExportReport {
        let mut taken = lock(&shared.buffer).take();
        *lock(&self.in_flight) = InFlight {
            spans: taken.traces.iter().map(Held::items).sum(),
            points: taken.metrics.iter().map(Held::items).sum(),
            records: taken.logs.iter().map(Held::items).sum(),
        };
        let mut left = Buffer::new(usize::MAX);

        // The three signals go out at once, each on its own request (and connection): an
        // export waits for one upstream round trip, not one per signal, which is what the
        // `end` strategy bills after every invocation. Within a signal, batches go in order.
        let (traces, metrics, logs) = (
            batches(HeldSignal::Traces, std::mem::take(&mut taken.traces)),
            batches(HeldSignal::Metrics, std::mem::take(&mut taken.metrics)),
            batches(HeldSignal::Logs, std::mem::take(&mut taken.logs)),
        );
        let (mut for_traces, mut for_metrics, mut for_logs) = (
            ExportReport::default(),
            ExportReport::default(),
            ExportReport::default(),
        );
        tokio::join!(
            async {
                for batch in traces {
                    self.deliver(shared, batch, deadline, &mut for_traces, &mut left.traces)
                        .await;
                }
            },
            async {
                for batch in metrics {
                    self.deliver(shared, batch, deadline, &mut for_metrics, &mut left.metrics)
                        .await;
                }
            },
            async {
                for batch in logs {
                    self.deliver(shared, batch, deadline, &mut for_logs, &mut left.logs)
                        .await;
                }
            },
        );
        let mut report = ExportReport::default();
        for part in [for_traces, for_metrics, for_logs] {
            report.delivered_requests += part.delivered_requests;
            report.delivered_spans += part.delivered_spans;
        }
        self.report_drops(shared, deadline, &mut report).await;
        if !left.is_empty() {
            report.left_over = true;
            give_back(shared, left);
        }
        *lock(&self.in_flight) = InFlight::default();
        report
    }

    /// Sends `batch`, halving it on `413`; what is not delivered by `deadline` goes to `left`.
    async fn deliver<B: Batch>(
        &self,
        shared: &Shared,
        batch: B,
        deadline: Instant,
        report: &mut ExportReport,
        left: &mut Vec<Held>,
    ) {
        let mut pending = vec![(batch, 0u32)];
        while let Some((batch, depth)) = pending.pop() {
            let (items, signal, path) = (batch.items(), batch.signal(), batch.path());
            match self
                .send(shared, path, &batch.encode(&shared.config), deadline)
                .await
            {
                Sent::Delivered(rejected) => {
                    report.delivered_requests += 1;
                    let refused = rejected.as_ref().map_or(0, |r| r.items.min(items));
                    if signal == Signal::Spans {
                        report.delivered_spans += items - refused;
                    }
                    if let Some(rejected) = rejected {
                        shared
                            .drops
                            .add(signal, DropReason::PartialSuccess, refused);
                        eprintln!(
                            "faas-otel-extension: upstream {} rejected {refused} of {items} {}: {}",
                            path,
                            signal.as_str(),
                            rejected.message
                        );
                    }
                }
                Sent::Retry => left.extend(batch.into_held()),
                Sent::TooLarge => {
                    let split = if depth < MAX_SPLIT_DEPTH {
                        batch.split_in_two()
                    } else {
                        Err(batch)
                    };
                    match split {
                        Ok((head, tail)) => {
                            pending.push((tail, depth + 1));
                            pending.push((head, depth + 1));
                        }
                        Err(whole) => {
                            let n = whole.items();
                            shared.drops.add(signal, DropReason::TooLarge, n);
                            eprintln!(
                                "faas-otel-extension: upstream {} answered 413 for {n} {} that cannot be split further; dropped",
                                path,
                                signal.as_str()
                            );
                        }
                    }
                }
                Sent::Refused(_) => shared.drops.add(signal, DropReason::Rejected, items),
            }
        }
    }

    /// Sends the drop counts not yet reported (the memory cap's from the buffer, the others
    /// from [`Shared::drops`]), in their own request outside the capped buffer: re-buffered
    /// with the data they count, they would themselves be dropped when the cap is reached.
    /// Counts that did not reach the upstream are kept for the next export.
    async fn report_drops(&self, shared: &Shared, deadline: Instant, report: &mut ExportReport) {
        let cap = std::mem::take(&mut lock(&shared.buffer).unreported);
        let mut counts: Vec<(Signal, DropReason, u64)> = [
            (Signal::Spans, cap.spans),
            (Signal::MetricPoints, cap.points),
            (Signal::LogRecords, cap.records),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(signal, n)| (signal, DropReason::MemoryCap, n))
        .collect();
        let others = shared.drops.take_unreported();
        counts.extend(others.iter().copied());
        if counts.is_empty() {
            return;
        }
        let metric = dropped_metric(&counts);
        let body = encode(
            &shared.config,
            &HeldBatch::of_message(HeldSignal::Metrics, &metric),
        );
        match self.send(shared, "/v1/metrics", &body, deadline).await {
            Sent::Delivered(_) => report.delivered_requests += 1,
            Sent::Retry => {
                add_dropped(&mut lock(&shared.buffer).unreported, cap);
                shared.drops.unreport(&others);
            }
            Sent::TooLarge | Sent::Refused(_) => {}
        }
    }

    async fn send(&self, shared: &Shared, path: &str, body: &Encoded, deadline: Instant) -> Sent {
        let client = match self.client.get_or_init(build_client) {
            Ok(client) => client,
            Err(error) => {
                eprintln!("faas-otel-extension: {error}");
                return Sent::Retry;
            }
        };
        send(client, &shared.config, path, body, deadline).await
    }
}

fn add_dropped(into: &mut Dropped, more: Dropped) {
    into.spans = into.spans.saturating_add(more.spans);
    into.points = into.points.saturating_add(more.points);
    into.records = into.records.saturating_add(more.records);
}

/// Puts what was not delivered back into the buffer, within its cap (beyond it, dropped and
/// counted by the buffer).
fn give_back(shared: &Shared, left: Buffer) {
    let mut buffer = lock(&shared.buffer);
    let mut dropped = 0;
    for held in left.traces {
        dropped += buffer.push(HeldSignal::Traces, held);
    }
    for held in left.metrics {
        buffer.push(HeldSignal::Metrics, held);
    }
    for held in left.logs {
        buffer.push(HeldSignal::Logs, held);
    }
    if dropped > 0 {
        eprintln!(
            "faas-otel-extension: upstream unavailable and memory cap reached: {dropped} spans dropped"
        );
    }
}
