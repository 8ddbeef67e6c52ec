//! [`on_shutdown`]: the last platform events, then everything exported before the deadline.

use std::time::{Duration, Instant};

use crate::buffer::span_count;
use crate::forward::Forwarder;
use crate::lock::lock;
use crate::state::Shared;

use super::deadline::deadline_of;
use super::prepare::prepare;

/// The drain budget when SHUTDOWN carries no plausible deadline.
const FALLBACK_BUDGET: Duration = Duration::from_millis(1500);

/// Handles SHUTDOWN: waits a moment for the platform's last batch, releases held spans,
/// exports until the buffer is empty or the deadline passed, and logs what was lost.
pub(crate) async fn on_shutdown(shared: &Shared, forwarder: &Forwarder, deadline_ms: u64) {
    // Give the platform's last batch (the final report) a moment to arrive.
    tokio::time::sleep(Duration::from_millis(30)).await;
    lock(&shared.platform).finish();
    prepare(shared);
    let deadline = deadline_of(deadline_ms).unwrap_or_else(|| Instant::now() + FALLBACK_BUDGET);
    while !lock(&shared.buffer).is_empty() && Instant::now() < deadline {
        let report = forwarder.export(shared, deadline).await;
        if !report.left_over {
            break;
        }
    }
    let buffer = lock(&shared.buffer);
    let lost = buffer.traces.iter().map(span_count).sum::<u64>();
    if buffer.dropped.spans > 0 || lost > 0 {
        eprintln!(
            "faas-otel-extension: shutdown: {} spans dropped over the memory cap, {lost} not delivered before the deadline",
            buffer.dropped.spans
        );
    }
}
