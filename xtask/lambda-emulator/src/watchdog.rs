//! The watchdog of an emulated environment: the timeout of the invoke phase and a runtime that
//! exits both fail the invocation in flight (`Sandbox.Timedout`, `Runtime.ExitError`), kill the
//! processes and mark the environment for re-initialization at the next invocation.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::process::{self, Proc};
use crate::state::{Outcome, Shared, State};

/// Enforces the timeout of the invoke phase and notices a runtime that exits: either fails the
/// invocation in flight (`Sandbox.Timedout`, `Runtime.ExitError`), kills the processes and
/// marks the environment for re-initialization at the next invocation.
pub(crate) fn spawn_watchdog(shared: Arc<Shared>, procs: Arc<Mutex<Vec<Proc>>>) {
    std::thread::spawn(move || {
        loop {
            let exited = {
                let mut procs = procs.lock().unwrap_or_else(|p| p.into_inner());
                procs
                    .iter_mut()
                    .find(|p| p.is_runtime)
                    .and_then(|p| p.child.try_wait().ok().flatten())
            };
            let mut state = shared.lock();
            if state.closed {
                return;
            }
            let now = Instant::now();
            let timed_out = state.inflight.as_ref().is_some_and(|f| now >= f.deadline);
            let failure = if timed_out {
                let seconds = state.timeout.as_secs_f64();
                Some((
                    "Sandbox.Timedout",
                    "timeout",
                    format!("Task timed out after {seconds:.2} seconds"),
                ))
            } else if let Some(status) = exited
                && state.closed_reason.is_none()
            {
                Some((
                    "Runtime.ExitError",
                    "failure",
                    format!("Runtime exited ({status})"),
                ))
            } else {
                None
            };
            if let Some((error_type, status, message)) = failure {
                fail_environment(&shared, &mut state, error_type, status, &message);
                drop(state);
                for proc in procs.lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
                    process::kill(&mut proc.child);
                }
                continue;
            }
            let wait = state
                .inflight
                .as_ref()
                .map(|f| f.deadline.saturating_duration_since(now))
                .unwrap_or(Duration::from_millis(100))
                .min(Duration::from_millis(100));
            drop(crate::state::wait_on(&shared.deadlines, state, wait));
        }
    });
}

/// Fails the invocation in flight (if any) with `error_type` and marks the environment reset.
fn fail_environment(
    shared: &Shared,
    state: &mut State,
    error_type: &str,
    status: &'static str,
    message: &str,
) {
    let unanswered = state
        .inflight
        .as_ref()
        .filter(|f| f.responded_at.is_none())
        .map(|f| f.id.clone());
    if let Some(id) = unanswered {
        let body = json!({ "errorType": error_type, "errorMessage": format!("{id} {message}") })
            .to_string()
            .into_bytes();
        let _ = shared.answer(state, &id, body, Some(error_type.to_string()));
    }
    if let Some(mut inflight) = state.inflight.take() {
        inflight.status = status;
        shared.report(state, inflight, Instant::now());
    }
    // Invocations still queued cannot run in this environment: they fail the same way.
    for pending in std::mem::take(&mut state.queue) {
        let body =
            json!({ "errorType": error_type, "errorMessage": format!("{} {message}", pending.id) })
                .to_string()
                .into_bytes();
        state.outcomes.insert(
            pending.id,
            Outcome {
                body,
                error_type: Some(error_type.to_string()),
                trace_header: pending.trace_header,
                queued_at: pending.queued_at,
                delivered_at: None,
                completed_at: Instant::now(),
            },
        );
    }
    state.closed_reason = Some(format!("environment reset: {error_type}: {message}"));
    shared.notify_all();
}
