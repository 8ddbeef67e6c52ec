//! [`on_invoke`]: after INVOKE, start the background export of what is held, wait for the
//! function's data (bounded), then export before the extension asks for the next event when
//! the flush strategy says this invocation exports at its end.

use std::sync::Mutex;
use std::time::Instant;

use crate::forward::Forwarder;
use crate::lock::lock;
use crate::state::Shared;

use super::deadline::deadline_of;
use super::export_pace::ExportPace;
use super::prepare::prepare;

/// Waits until the function's data for `request_id` arrived, at most until `until`.
///
/// With tail sampling on, only `platform.runtimeDone` ends the wait early: the sampler needs
/// the invocation's outcome (error, timeout), and the runtime is done after the function
/// flushed.
async fn wait_for_invocation(shared: &Shared, request_id: &str, until: Instant) {
    let need_outcome = lock(&shared.sampler).is_enabled();
    // One timer for the whole wait: every request and Telemetry API batch wakes the loop, and
    // a timer armed again at each wake-up is a timer-wheel entry added and removed each time.
    let deadline = tokio::time::sleep_until(until.into());
    tokio::pin!(deadline);
    loop {
        let notified = shared.arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let arrived = if need_outcome {
            lock(&shared.runtime_done).contains(request_id)
        } else {
            shared.invocation_arrived(request_id)
        };
        if arrived || Instant::now() >= until {
            return;
        }
        tokio::select! {
            () = &mut deadline => return,
            () = notified => {}
        }
    }
}

/// Handles one INVOKE: counts it and decides where its export goes (see [`ExportPace`]);
/// asks the background exporter to send what earlier invocations left (while the function
/// runs, not billed); waits for the invocation's data (never past its deadline) and prepares
/// the buffer; then, when this invocation exports at its end, exports before the extension
/// asks for the next event (after the background export running, if any: that wait is bounded
/// by the same deadline).
pub(crate) async fn on_invoke(
    shared: &Shared,
    forwarder: &Forwarder,
    pace: &Mutex<ExportPace>,
    request_id: &str,
    deadline_ms: u64,
) {
    let config = &shared.config;
    let now = Instant::now();
    // The invocation's deadline bounds the wait and the export.
    let platform_deadline = deadline_of(deadline_ms);
    // Tail sampling decides each trace at the end of its invocation (it needs the outcome):
    // then every invocation exports at its end, whatever the strategy.
    let sampling = lock(&shared.sampler).is_enabled();
    let background = {
        let mut pace = lock(pace);
        pace.invoked(now, config);
        pace.background_on(config.flush) && !sampling
    };
    if background && !lock(&shared.buffer).is_empty() {
        shared.export_soon.notify_one();
    }
    let fallback = now.checked_add(config.wait).unwrap_or(now);
    let wait_until = platform_deadline.map_or(fallback, |d| d.min(fallback));
    wait_for_invocation(shared, request_id, wait_until).await;
    let at_end = {
        let mut pace = lock(pace);
        pace.ended();
        pace.at_end() || sampling
    };
    prepare(shared);
    if !at_end {
        return;
    }
    let now = Instant::now();
    let mut deadline = now.checked_add(config.export_timeout).unwrap_or(now);
    if let Some(platform) = platform_deadline {
        deadline = deadline.min(platform);
    }
    // A background export started at INVOKE may hold this invocation's predecessors: it ends
    // (or gives them back) before the next event too.
    if lock(&shared.buffer).is_empty() {
        forwarder.idle(deadline).await;
        if lock(&shared.buffer).is_empty() {
            lock(pace).exported(Instant::now());
            return;
        }
    }
    forwarder.export(shared, deadline).await;
    lock(pace).exported(Instant::now());
}
