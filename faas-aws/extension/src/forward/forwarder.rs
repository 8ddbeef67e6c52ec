//! [`Forwarder`]: sends what the buffer holds to the upstream OTLP/HTTP endpoint.
//!
//! Requests are merged per signal into batches of at most
//! [`MAX_BATCH_BYTES`](super::batches::MAX_BATCH_BYTES), encoded as the configured protocol,
//! gzipped unless turned off, and sent with the configured headers (see [`send`](super::send)).
//! What could not be delivered goes back into the buffer (within the memory cap; beyond it,
//! dropped and counted). Data refused with another 4xx is dropped and counted, since sending it
//! again cannot succeed. The counts travel upstream as the self-metric
//! [`DROPPED_METRIC`](super::dropped_metric::DROPPED_METRIC).

use std::sync::OnceLock;
use std::time::Instant;

use prost::Message;
use serde::Serialize;

use crate::buffer::{Buffer, Dropped, point_count, record_count, span_count};
use crate::lock::lock;
use crate::state::Shared;

use super::batches::{batches, merge_logs, merge_metrics, merge_traces};
use super::client::build_client;
use super::dropped_metric::dropped_metric;
use super::encode::encode;
use super::send::{Sent, send};

/// What one export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ExportReport {
    /// Requests sent upstream and answered 2xx.
    pub(crate) delivered_requests: u64,
    /// Spans delivered.
    pub(crate) delivered_spans: u64,
    /// Whether something is left in the buffer for a later export.
    pub(crate) left_over: bool,
}

/// The upstream client (built on first use: nothing on the cold-start path).
#[derive(Debug)]
pub(crate) struct Forwarder {
    client: OnceLock<Result<reqwest::Client, String>>,
    /// One export at a time (the lifecycle and the periodic exporter share the forwarder).
    exporting: tokio::sync::Mutex<()>,
}

impl Forwarder {
    /// A forwarder; the HTTP client is built at the first export.
    pub(crate) fn new() -> Self {
        Self {
            client: OnceLock::new(),
            exporting: tokio::sync::Mutex::new(()),
        }
    }

    /// Exports everything the buffer holds, within `deadline`.
    pub(crate) async fn export(&self, shared: &Shared, deadline: Instant) -> ExportReport {
        let _one_at_a_time = self.exporting.lock().await;
        let mut taken = lock(&shared.buffer).take();
        // The drop counts travel in their own request, outside the capped buffer: re-buffered
        // with the data they count, they would themselves be dropped when the cap is reached.
        let unreported = std::mem::take(&mut lock(&shared.buffer).unreported);
        let mut report = ExportReport::default();
        let mut left = Buffer::new(usize::MAX);

        for batch in batches(std::mem::take(&mut taken.traces), merge_traces) {
            let spans = span_count(&batch);
            match self.send(shared, "/v1/traces", &batch, deadline).await {
                Sent::Delivered => {
                    report.delivered_requests += 1;
                    report.delivered_spans += spans;
                }
                Sent::Retry => left.traces.push(batch),
                Sent::Rejected => count_rejected(shared, |d| d.spans += spans),
            }
        }
        for batch in batches(std::mem::take(&mut taken.metrics), merge_metrics) {
            match self.send(shared, "/v1/metrics", &batch, deadline).await {
                Sent::Delivered => report.delivered_requests += 1,
                Sent::Retry => left.metrics.push(batch),
                Sent::Rejected => count_rejected(shared, |d| d.points += point_count(&batch)),
            }
        }
        for batch in batches(std::mem::take(&mut taken.logs), merge_logs) {
            match self.send(shared, "/v1/logs", &batch, deadline).await {
                Sent::Delivered => report.delivered_requests += 1,
                Sent::Retry => left.logs.push(batch),
                Sent::Rejected => count_rejected(shared, |d| d.records += record_count(&batch)),
            }
        }
        if unreported != Dropped::default() {
            let metric = dropped_metric(unreported);
            match self.send(shared, "/v1/metrics", &metric, deadline).await {
                Sent::Delivered => report.delivered_requests += 1,
                Sent::Retry => {
                    let mut buffer = lock(&shared.buffer);
                    buffer.unreported.spans += unreported.spans;
                    buffer.unreported.points += unreported.points;
                    buffer.unreported.records += unreported.records;
                }
                Sent::Rejected => {}
            }
        }
        if !left.is_empty() {
            report.left_over = true;
            let mut buffer = lock(&shared.buffer);
            let mut dropped = 0;
            for request in left.traces {
                dropped += buffer.push_traces(request);
            }
            for request in left.metrics {
                buffer.push_metrics(request);
            }
            for request in left.logs {
                buffer.push_logs(request);
            }
            if dropped > 0 {
                eprintln!(
                    "faas-otel-extension: upstream unavailable and memory cap reached: {dropped} spans dropped"
                );
            }
        }
        report
    }

    async fn send<T: Message + Serialize>(
        &self,
        shared: &Shared,
        path: &str,
        request: &T,
        deadline: Instant,
    ) -> Sent {
        let client = match self.client.get_or_init(build_client) {
            Ok(client) => client,
            Err(error) => {
                eprintln!("faas-otel-extension: {error}");
                return Sent::Retry;
            }
        };
        let body = encode(&shared.config, request);
        send(client, &shared.config, path, &body, deadline).await
    }
}

/// Counts data the upstream refused as dropped (and to be reported).
fn count_rejected(shared: &Shared, add: impl Fn(&mut Dropped)) {
    let mut buffer = lock(&shared.buffer);
    add(&mut buffer.dropped);
    add(&mut buffer.unreported);
}
