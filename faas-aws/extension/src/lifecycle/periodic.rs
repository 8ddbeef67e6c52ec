//! [`periodic_exporter`]: the background exports of the `periodic` and `adaptive` flush
//! strategies (and of Lambda Managed Instances, which have no INVOKE to export after).
//!
//! It exports what is held
//! - when woken through [`Shared::export_soon`] (at the start of an invocation: the data
//!   earlier invocations left is sent while the function runs, so Lambda does not bill it),
//!   after the export running, if any; at most once per
//!   [`BACKGROUND_GAP`](super::export_pace::BACKGROUND_GAP) after the last export: woken
//!   sooner, it exports once the gap has passed if that invocation still runs (else at the
//!   next invocation's start), so that tens of invocations a second share upstream requests;
//!   woken after the gap, it exports at once, even when the invocation already ended (its
//!   data was in before this task ran);
//! - on the interval (`FAAS_OTEL_EXTENSION_EXPORT_INTERVAL_MS`) while an invocation runs (a
//!   long invocation does not hold its data to the end), or always without INVOKE events;
//! - whenever a quarter of the memory cap is in use while exports are in the background (a
//!   burst is forwarded instead of dropped; while invocations export at their end, the cap
//!   answers with `partial_success` instead).
//!
//! With tail sampling on (`FAAS_OTEL_EXTENSION_KEEP=decide`) it exports only under memory
//! pressure in periodic mode: a trace is decided when its invocation's outcome is known, at the
//! end of the invocation, and exported then. Without INVOKE events (Managed Instances) it also
//! moves the platform's records into the buffer and applies tail sampling ([`prepare`]) before
//! each export, since no invocation end does.
//!
//! Its exports are never awaited before the extension asks for the next event: one still
//! running when the environment is frozen resumes at the thaw (a request that did not survive
//! the freeze is retried or given back to the buffer, and the SHUTDOWN drain waits for it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::forward::Forwarder;
use crate::lock::lock;
use crate::state::Shared;

use super::export_pace::ExportPace;
use super::prepare::prepare;

/// How often the background exporter looks.
const TICK: Duration = Duration::from_millis(50);

/// Runs the background exports for good (spawn it once).
pub(crate) async fn periodic_exporter(
    shared: Arc<Shared>,
    forwarder: Arc<Forwarder>,
    pace: Arc<Mutex<ExportPace>>,
) {
    loop {
        let woken = tokio::select! {
            () = tokio::time::sleep(TICK) => false,
            () = shared.export_soon.notified() => true,
        };
        let now = Instant::now();
        let background_only = lock(&pace).is_background_only();
        if background_only && (woken || lock(&pace).tick_due(now, shared.config.export_interval)) {
            // No INVOKE ends an invocation here (Managed Instances): the platform's records
            // reach the buffer, and traces whose outcome is known are decided, only through
            // this exporter.
            prepare(&shared);
        }
        let held = lock(&shared.buffer).bytes();
        if held == 0 {
            continue;
        }
        let config = &shared.config;
        let pressure = held >= config.memory_limit / 4;
        // Tail sampling decides a trace at the end of its invocation: its spans never leave
        // in the background before that (only under memory pressure).
        let sampling = lock(&shared.sampler).is_enabled();
        let (on, due, pressure, soon) = {
            let mut pace = lock(&pace);
            let on = pace.background_on(config.flush) && (!sampling || background_only);
            if on && woken {
                pace.ask_soon();
            }
            (
                on,
                pace.tick_due(now, config.export_interval),
                pressure && pace.in_background(config.flush),
                on && pace.take_soon(now, config.export_interval, woken),
            )
        };
        let deadline = now.checked_add(config.export_timeout).unwrap_or(now);
        let exported = if soon {
            // Right after the running export (which may hold the previous batch).
            Some(forwarder.export(&shared, deadline).await)
        } else if pressure || (on && due) {
            forwarder.export_if_idle(&shared, deadline).await
        } else {
            None
        };
        if exported.is_some() {
            lock(&pace).exported(Instant::now());
        }
    }
}
