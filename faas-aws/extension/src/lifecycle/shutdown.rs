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

/// Handles SHUTDOWN: waits a moment for the platform's last batch, releases held spans, waits
/// for a background export still running (it gives back what it could not deliver; bounded by
/// the deadline), exports until the buffer is empty or the deadline passed, and logs what was
/// lost.
pub(crate) async fn on_shutdown(shared: &Shared, forwarder: &Forwarder, deadline_ms: u64) {
    // Give the platform's last batch (the final report) a moment to arrive.
    tokio::time::sleep(Duration::from_millis(30)).await;
    lock(&shared.platform).finish();
    crate::function_logs::release(&shared.platform, &shared.logs, &shared.buffer, true);
    prepare(shared);
    let deadline = deadline_of(deadline_ms).unwrap_or_else(|| {
        let now = Instant::now();
        now.checked_add(FALLBACK_BUDGET).unwrap_or(now)
    });
    // What a running export took is not in the buffer: wait for it to end first.
    forwarder.idle(deadline).await;
    while !lock(&shared.buffer).is_empty() && Instant::now() < deadline {
        let report = forwarder.export(shared, deadline).await;
        if !report.left_over {
            break;
        }
    }
    let in_flight = forwarder.in_flight().spans;
    let buffer = lock(&shared.buffer);
    let lost = buffer
        .traces
        .iter()
        .map(span_count)
        .sum::<u64>()
        .saturating_add(in_flight);
    if buffer.dropped.spans > 0 || lost > 0 {
        eprintln!(
            "faas-otel-extension: shutdown: {} spans dropped over the memory cap, {lost} not delivered before the deadline",
            buffer.dropped.spans
        );
    }
}
