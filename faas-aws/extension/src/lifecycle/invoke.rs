//! [`on_invoke`]: after INVOKE, start the background export of what is held; when the flush
//! strategy says this invocation exports at its end, wait for the function's data (bounded)
//! and export before the extension asks for the next event, else ask for it at once.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::forward::Forwarder;
use crate::lock::lock;
use crate::state::Shared;

use super::deadline::deadline_of;
use super::export_pace::ExportPace;
use super::prepare::prepare;

/// Waits until the function's data for `request_id` arrived, at most until `until`, and no
/// longer than invocation `invocation` is the last one that started (checked at every
/// wake-up); then the invocation no longer runs, and the buffer is prepared.
///
/// With tail sampling on, only `platform.runtimeDone` ends the wait early: the sampler needs
/// the invocation's outcome (error, timeout), and the runtime is done after the function
/// flushed.
async fn take_invocation(
    shared: &Shared,
    pace: &Mutex<ExportPace>,
    request_id: &str,
    until: Instant,
    invocation: u64,
) {
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
        let superseded = lock(pace).invocation() != invocation;
        if arrived || superseded || Instant::now() >= until {
            break;
        }
        tokio::select! {
            () = &mut deadline => break,
            () = notified => {}
        }
    }
    lock(pace).ended_invocation(invocation);
    prepare(shared);
}

/// Handles one INVOKE: counts it and decides where its export goes (see [`ExportPace`]);
/// asks the background exporter to send what earlier invocations left (while the function
/// runs, not billed).
///
/// When this invocation exports at its end, it waits for the invocation's data (never past its
/// deadline), prepares the buffer and exports before the extension asks for the next event
/// (after the background export running, if any: that wait is bounded by the same deadline).
///
/// When it does not (`periodic`, and `adaptive` once steady), the extension asks for the next
/// event at once and waits for the data in a task of its own: Lambda ends (and bills) an
/// invocation when the function AND every extension asked for the next event, so the
/// extension then adds no time to the invocation at all. Nothing is at stake: the receiver
/// answers the function's export only once the data is held, and the function asks for the
/// next event only after that answer, so the environment cannot freeze before the data is in.
pub(crate) async fn on_invoke(
    shared: &Arc<Shared>,
    forwarder: &Forwarder,
    pace: &Arc<Mutex<ExportPace>>,
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
    let (background, at_end, invocation) = {
        let mut pace = lock(pace);
        pace.invoked(now, config);
        (
            pace.background_on(config.flush) && !sampling,
            pace.at_end() || sampling,
            pace.invocation(),
        )
    };
    if background && !lock(&shared.buffer).is_empty() {
        shared.export_soon.notify_one();
    }
    // A wait of the previous invocation still running in its own task (its function sent no
    // data) ends now: the next INVOKE means its invocation ended.
    shared.arrived.notify_waiters();
    let fallback = now.checked_add(config.wait).unwrap_or(now);
    let wait_until = platform_deadline.map_or(fallback, |d| d.min(fallback));
    if !at_end {
        let (shared, pace, request_id) = (shared.clone(), pace.clone(), request_id.to_owned());
        tokio::spawn(async move {
            take_invocation(&shared, &pace, &request_id, wait_until, invocation).await;
        });
        return;
    }
    take_invocation(shared, pace, request_id, wait_until, invocation).await;
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
