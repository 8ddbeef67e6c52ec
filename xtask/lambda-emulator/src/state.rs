//! The state of one emulated execution environment and its transitions, shared by the API
//! handlers behind one mutex, with a condition variable per kind of waiter (see
//! [`Shared::notify_all`]).
//!
//! Lambda semantics kept here: an invocation is delivered only when the init phase is over (the
//! runtime and every registered extension have called `next` once) and the previous invocation
//! is over; it completes for the caller when the runtime posts its response (or error); the
//! environment stays busy ("frozen" for new work) until the runtime AND every extension that
//! received the INVOKE event have called `next` again, and only then `platform.report` is
//! emitted.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::ids;
use crate::memory;

/// An invocation waiting for the runtime.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub payload: Vec<u8>,
    pub trace_header: String,
    pub client_context: Option<String>,
    pub queued_at: Instant,
}

/// The invocation being processed.
#[derive(Debug)]
pub struct Inflight {
    pub id: String,
    pub trace_header: String,
    pub span_id: String,
    pub queued_at: Instant,
    pub delivered_at: Instant,
    pub delivered_wall: SystemTime,
    pub deadline: Instant,
    pub responded_at: Option<Instant>,
    pub runtime_back: bool,
    pub waiting_extensions: HashSet<String>,
    pub status: &'static str,
}

/// A registered extension.
#[derive(Debug)]
pub struct Extension {
    pub id: String,
    pub name: String,
    pub invoke: bool,
    pub shutdown: bool,
    pub pending: VecDeque<Value>,
    pub called_next: bool,
    pub busy_with: Option<String>,
}

/// A Telemetry API subscriber: the channel to its delivery thread and the types it wants.
#[derive(Debug)]
pub struct Subscriber {
    pub types: Vec<String>,
    pub sender: Sender<Value>,
}

/// What the function answered, as kept until the caller collects it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub body: Vec<u8>,
    pub error_type: Option<String>,
    pub trace_header: String,
    pub queued_at: Instant,
    pub delivered_at: Option<Instant>,
    pub completed_at: Instant,
}

/// The figures of `platform.report`, as kept for `Emulator::wait_report`.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub status: &'static str,
    pub duration: Duration,
    pub billed_ms: u64,
    pub max_memory_used_mb: u64,
    pub init_duration: Option<Duration>,
    pub delivered_at: Instant,
    pub idle_at: Instant,
}

/// Everything behind the mutex.
#[derive(Debug, Default)]
pub struct State {
    pub memory_mb: u32,
    pub timeout: Duration,
    pub active_tracing: bool,
    pub queue: VecDeque<Pending>,
    pub inflight: Option<Inflight>,
    pub outcomes: HashMap<String, Outcome>,
    pub reports: HashMap<String, ReportData>,
    pub extensions: Vec<Extension>,
    pub subscribers: Vec<Subscriber>,
    /// Every platform event emitted, in order.
    pub events: Vec<Value>,
    /// Start of the init phase (first process started, or the emulator started).
    pub init_start: Option<(Instant, SystemTime)>,
    /// When the function process was started.
    pub exec_at: Option<Instant>,
    /// The runtime's first `next` call.
    pub first_next: Option<Instant>,
    /// Set when the init phase is over (`platform.initReport` emitted).
    pub init_duration: Option<Duration>,
    /// Whether the next report still has to carry `initDurationMs`.
    pub init_duration_pending: bool,
    /// Body of `/runtime/init/error`, if the runtime reported one.
    pub init_error: Option<(String, Vec<u8>)>,
    /// `(extension name, error type, body)` of extension init/exit errors.
    pub extension_errors: Vec<(String, String, String)>,
    /// Processes whose peak RSS makes `maxMemoryUsedMB`.
    pub pids: Vec<u32>,
    /// Set when the environment was torn down (shutdown, timeout, drop): waiters give up.
    pub closed: bool,
    /// Why the environment is gone, when it is.
    pub closed_reason: Option<String>,
}

impl State {
    /// The name of the registered extension with identifier `id`.
    pub fn extension_name(&self, id: &str) -> Option<String> {
        self.extensions
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.name.clone())
    }
}

/// The state plus its condition variable, and what does not change.
#[derive(Debug)]
pub struct Shared {
    pub name: String,
    pub region: String,
    pub arn: String,
    pub version: String,
    pub state: Mutex<State>,
    /// What the API long polls (the runtime's and the extensions' `next`) wait on.
    pub changed: Condvar,
    /// What the driver waits on ([`crate::Emulator::invoke`], `wait_report`, `wait_ready`,
    /// the registrations): an answer, a report, the init phase, a close.
    pub settled: Condvar,
    /// What the watchdog waits on: a new invocation's deadline, a close.
    pub deadlines: Condvar,
}

impl Shared {
    /// Locks the state; a poisoned lock (a handler thread panicked) is still usable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits on [`Self::changed`] (an API long poll) for at most `timeout`.
    pub fn wait<'a>(
        &self,
        guard: MutexGuard<'a, State>,
        timeout: Duration,
    ) -> MutexGuard<'a, State> {
        wait_on(&self.changed, guard, timeout)
    }

    /// Wakes every waiter: for the changes that are rare or that any of them may wait for.
    ///
    /// The three kinds of waiter have condition variables of their own so that the changes of
    /// every invocation wake only who waits for them: one condition variable woke the
    /// extensions' long polls, the driver and the watchdog at each of them, on the cores the
    /// function under measurement runs on. Every wait is bounded, so a change that wakes too
    /// few only delays a waiter.
    pub fn notify_all(&self) {
        self.changed.notify_all();
        self.settled.notify_all();
        self.deadlines.notify_all();
    }

    /// Emits a Telemetry API event of `kind` (e.g. `platform.start`) with `record`.
    pub fn emit(&self, state: &mut State, kind: &str, record: Value) {
        let event =
            json!({ "time": ids::iso8601(SystemTime::now()), "type": kind, "record": record });
        let category = kind.split('.').next().unwrap_or(kind);
        for subscriber in &state.subscribers {
            if subscriber.types.iter().any(|t| t == category) {
                let _ = subscriber.sender.send(event.clone());
            }
        }
        if category == "platform" {
            state.events.push(event);
        }
    }

    /// Emits `platform.initReport` once the runtime and every registered extension have called
    /// `next`; returns whether the init phase is over.
    pub fn check_init(&self, state: &mut State) -> bool {
        if state.init_duration.is_some() {
            return true;
        }
        if state.first_next.is_none() || state.extensions.iter().any(|e| !e.called_next) {
            return false;
        }
        let started = state
            .init_start
            .map(|(i, _)| i)
            .unwrap_or_else(Instant::now);
        let duration = started.elapsed();
        state.init_duration = Some(duration);
        state.init_duration_pending = true;
        self.emit(
            state,
            "platform.initReport",
            json!({
                "initializationType": "on-demand",
                "phase": "init",
                "status": "success",
                "metrics": { "durationMs": ms(duration) },
            }),
        );
        self.notify_all();
        true
    }

    /// Ends the in-flight invocation if its runtime and extensions are all back in `next`:
    /// emits `platform.report` and records it.
    pub fn check_complete(&self, state: &mut State) {
        let done = state.inflight.as_ref().is_some_and(|f| {
            (f.responded_at.is_some() || f.status == "timeout")
                && f.runtime_back
                && f.waiting_extensions.is_empty()
        });
        if done && let Some(inflight) = state.inflight.take() {
            self.report(state, inflight, Instant::now());
        }
    }

    /// Emits `platform.report` for `inflight`, ended at `idle_at`.
    pub fn report(&self, state: &mut State, inflight: Inflight, idle_at: Instant) {
        let duration = idle_at.saturating_duration_since(inflight.delivered_at);
        let billed_ms = billed_ms(duration);
        let max_memory_used_mb = memory::peak_rss_mb(&state.pids);
        let init_duration = if state.init_duration_pending {
            state.init_duration_pending = false;
            state.init_duration
        } else {
            None
        };
        let mut metrics = json!({
            "durationMs": ms(duration),
            "billedDurationMs": billed_ms,
            "memorySizeMB": state.memory_mb,
            "maxMemoryUsedMB": max_memory_used_mb,
        });
        if let Some(init) = init_duration {
            metrics["initDurationMs"] = json!(ms(init));
        }
        self.emit(
            state,
            "platform.report",
            json!({
                "requestId": inflight.id,
                "status": inflight.status,
                "metrics": metrics,
                "tracing": tracing(&inflight.trace_header, &inflight.span_id),
            }),
        );
        state.reports.insert(
            inflight.id.clone(),
            ReportData {
                status: inflight.status,
                duration,
                billed_ms,
                max_memory_used_mb,
                init_duration,
                delivered_at: inflight.delivered_at,
                idle_at,
            },
        );
        // The driver waits for the report; the runtime's long poll may deliver the next
        // invocation now. The watchdog's bounded wait ends by itself.
        self.changed.notify_all();
        self.settled.notify_all();
    }

    /// Takes the next invocation for the runtime if one can be delivered now: marks it in
    /// flight, queues the INVOKE event for the extensions and emits `platform.start`.
    pub fn try_deliver(&self, state: &mut State) -> Option<(Pending, u64)> {
        if state.closed || state.inflight.is_some() || state.init_error.is_some() {
            return None;
        }
        if !self.check_init(state) {
            return None;
        }
        let pending = state.queue.pop_front()?;
        let now = Instant::now();
        let wall = SystemTime::now();
        let deadline_ms = ids::epoch_ms(wall + state.timeout);
        let span_id = ids::span_id();
        let mut waiting = HashSet::new();
        let event = json!({
            "eventType": "INVOKE",
            "deadlineMs": deadline_ms,
            "requestId": pending.id,
            "invokedFunctionArn": self.arn,
            "tracing": { "type": "X-Amzn-Trace-Id", "value": pending.trace_header },
        });
        for extension in state.extensions.iter_mut().filter(|e| e.invoke) {
            extension.pending.push_back(event.clone());
            waiting.insert(extension.id.clone());
        }
        state.inflight = Some(Inflight {
            id: pending.id.clone(),
            trace_header: pending.trace_header.clone(),
            span_id: span_id.clone(),
            queued_at: pending.queued_at,
            delivered_at: now,
            delivered_wall: wall,
            deadline: now + state.timeout,
            responded_at: None,
            runtime_back: false,
            waiting_extensions: waiting,
            status: "success",
        });
        let version = self.version.clone();
        self.emit(
            state,
            "platform.start",
            json!({
                "requestId": pending.id,
                "version": version,
                "tracing": tracing(&pending.trace_header, &span_id),
            }),
        );
        // The extensions' long polls take the INVOKE; the watchdog learns the deadline. The
        // driver waits for the answer, not the delivery.
        self.changed.notify_all();
        self.deadlines.notify_all();
        Some((pending, deadline_ms))
    }

    /// Records the runtime's answer to invocation `id`: a response, or an error of
    /// `error_type`. Returns an error text when `id` is not the invocation in flight or was
    /// answered already.
    pub fn answer(
        &self,
        state: &mut State,
        id: &str,
        body: Vec<u8>,
        error_type: Option<String>,
    ) -> Result<(), String> {
        let Some(inflight) = state.inflight.as_mut().filter(|f| f.id == id) else {
            return Err(format!(
                "Invalid request ID: {id:?} is not the invocation in flight"
            ));
        };
        if inflight.responded_at.is_some() {
            return Err(format!(
                "Invalid state transition: {id} was already answered"
            ));
        }
        let now = Instant::now();
        inflight.responded_at = Some(now);
        inflight.status = if error_type.is_some() {
            "error"
        } else {
            "success"
        };
        let status = inflight.status;
        let produced = body.len();
        let latency = now.saturating_duration_since(inflight.delivered_at);
        let trace = tracing(&inflight.trace_header, &inflight.span_id);
        let start_wall = inflight.delivered_wall;
        state.outcomes.insert(
            id.to_string(),
            Outcome {
                body,
                error_type,
                trace_header: inflight.trace_header.clone(),
                queued_at: inflight.queued_at,
                delivered_at: Some(inflight.delivered_at),
                completed_at: now,
            },
        );
        self.emit(
            state,
            "platform.runtimeDone",
            json!({
                "requestId": id,
                "status": status,
                "metrics": { "durationMs": ms(latency), "producedBytes": produced },
                "spans": [{
                    "name": "responseLatency",
                    "start": ids::iso8601(start_wall),
                    "durationMs": ms(latency),
                }],
                "tracing": trace,
            }),
        );
        // Only the driver waits for an answer; the invocation ends when the runtime and the
        // extensions are back in `next`, which wakes the rest.
        self.settled.notify_all();
        Ok(())
    }
}

/// Waits on `condvar` (one of [`Shared`]'s) for at most `timeout`.
pub fn wait_on<'a>(
    condvar: &Condvar,
    guard: MutexGuard<'a, State>,
    timeout: Duration,
) -> MutexGuard<'a, State> {
    match condvar.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

/// `tracing` object of the Telemetry API events.
fn tracing(trace_header: &str, span_id: &str) -> Value {
    json!({ "spanId": span_id, "type": "X-Amzn-Trace-Id", "value": trace_header })
}

/// A duration in milliseconds with microsecond precision, as the Telemetry API reports them.
pub fn ms(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1000.0
}

/// Lambda bills every started millisecond.
pub fn billed_ms(duration: Duration) -> u64 {
    let micros = duration.as_micros();
    u64::try_from(micros.div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_rounds_every_started_millisecond_up() {
        assert_eq!(billed_ms(Duration::from_micros(1)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1000)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1001)), 2);
        assert_eq!(billed_ms(Duration::from_millis(250)), 250);
        assert_eq!(billed_ms(Duration::ZERO), 1);
    }

    #[test]
    fn milliseconds_keep_three_decimals() {
        assert_eq!(ms(Duration::from_micros(1234)), 1.234);
        assert_eq!(ms(Duration::from_millis(2)), 2.0);
    }
}
