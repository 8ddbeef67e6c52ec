//! Cold-start detection and the initialization span.
//!
//! A process is cold exactly once: [`ColdStart::take`] hands the cold start to the first caller,
//! whichever thread or concurrent invocation it is, and to nobody after it. Initialization is
//! measured from the start of the process as the operating system recorded it (on Linux,
//! `/proc/self/stat`, so the time before `main` is included) to the moment the function is
//! ready and first asks for an event ([`ColdStart::mark_ready`]: on Lambda the runtime's first
//! `GET /next`, on the HTTP platforms the server starting to accept), and split into phases
//! that code marks with [`ColdStart::mark_phase`]. The time spent waiting for the first event
//! after that is not initialization. Without a ready mark it ends at the first invocation
//! (attribute [`INIT_END`] tells which).
//!
//! # `faas init` next to Lambda's `platform init`
//!
//! When the Lambda extension reports the platform's INIT phase (`platform.initReport`, the
//! `platform init` span), the two measure different things: `faas init` is this runtime
//! process, from its start to its first `/next`; Lambda's INIT phase also holds the start of
//! the extensions (before the runtime process exists) and ends when the runtime *and* every
//! extension have asked for the next event. So `platform init` ≥ `faas init`; the difference is
//! the extensions' share. For the billed INIT duration and the cold start the caller waited
//! for, believe `platform init`; for where the function's own start-up time went, `faas init`
//! and its phases.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use crate::attributes;
use crate::faas_environment::InitializationType;

/// Where the initialization span ended: [`INIT_END_READY`] or [`INIT_END_FIRST_INVOCATION`].
pub const INIT_END: &str = "faas_otel.init.end";
/// [`INIT_END`] when the function marked itself ready ([`ColdStart::mark_ready`]): the runtime
/// first asked for an event there.
pub const INIT_END_READY: &str = "ready_for_event";
/// [`INIT_END`] without a ready mark: initialization ran up to the first invocation, waiting
/// for it included.
pub const INIT_END_FIRST_INVOCATION: &str = "first_invocation";

/// Linux's `USER_HZ`: the unit of `/proc/self/stat` start times (100 on every mainstream
/// architecture; reading it with `sysconf` would need `unsafe`).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// The first invocation of a process, as handed out once by [`ColdStart::take`].
#[derive(Debug, Clone)]
pub struct ColdStartInfo {
    /// How the environment was initialized.
    pub initialization_type: InitializationType,
    /// From process start to the first invocation.
    pub init_duration: Duration,
    /// Whether the caller waited for initialization (`faas.coldstart`).
    pub user_visible: bool,
    /// Whether the process start time came from the operating system.
    pub includes_runtime_start: bool,
    process_start: (Instant, SystemTime),
    phases: Vec<(String, Instant)>,
    first_invocation: Instant,
    /// When the function first asked for an event, if it said so.
    ready: Option<Instant>,
}

/// Process-wide cold-start state. Use [`ColdStart::global`] in functions; tests build their own.
#[derive(Debug)]
pub struct ColdStart {
    taken: AtomicBool,
    process_start: (Instant, SystemTime),
    includes_runtime_start: bool,
    initialization_type: OnceLock<InitializationType>,
    phases: Mutex<Vec<(String, Instant)>>,
    ready: OnceLock<Instant>,
}

impl ColdStart {
    /// The process-wide instance. The first call fixes the process start time.
    pub fn global() -> &'static ColdStart {
        static GLOBAL: OnceLock<ColdStart> = OnceLock::new();
        GLOBAL.get_or_init(ColdStart::from_process)
    }

    /// A cold start for this process, dated from the operating system's process start time
    /// when it can be read, else from now.
    pub fn from_process() -> Self {
        match process_age() {
            Some(age) => {
                let now = (Instant::now(), SystemTime::now());
                let start = (
                    now.0.checked_sub(age).unwrap_or(now.0),
                    now.1.checked_sub(age).unwrap_or(now.1),
                );
                Self::starting_at(start.0, start.1, true)
            }
            None => Self::starting_at(Instant::now(), SystemTime::now(), false),
        }
    }

    /// A cold start whose process started at the given instant (tests, custom runtimes).
    pub fn starting_at(start: Instant, wall: SystemTime, includes_runtime_start: bool) -> Self {
        Self {
            taken: AtomicBool::new(false),
            process_start: (start, wall),
            includes_runtime_start,
            initialization_type: OnceLock::new(),
            phases: Mutex::new(Vec::new()),
            ready: OnceLock::new(),
        }
    }

    /// Marks the end of initialization: the function is about to ask for its first event (the
    /// Lambda runtime's first `/next`, the HTTP server starting to accept). Only the first call
    /// counts, and none after the cold start was taken. Initialization, its last phase
    /// (`ready`) and `faas.init_duration` end here; the wait for the first event is left out.
    pub fn mark_ready(&self) {
        if !self.taken.load(Ordering::Acquire) {
            let _ = self.ready.set(Instant::now());
        }
    }

    /// Sets how the environment was initialized. Only the first call has an effect.
    pub fn set_initialization_type(&self, initialization_type: InitializationType) {
        let _ = self.initialization_type.set(initialization_type);
    }

    /// Ends the current phase of initialization, naming it. The first phase starts at
    /// process start; each later one at the end of the previous. Ignored after the cold start
    /// was taken.
    pub fn mark_phase(&self, name: impl Into<String>) {
        if self.taken.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut phases) = self.phases.lock() {
            phases.push((name.into(), Instant::now()));
        }
    }

    /// Whether the cold start was already taken.
    pub fn is_taken(&self) -> bool {
        self.taken.load(Ordering::Acquire)
    }

    /// Hands out the cold start: `Some` to exactly one caller per instance, `None` to all
    /// others, also when called concurrently.
    pub fn take(&self) -> Option<ColdStartInfo> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        let first_invocation = Instant::now();
        let ready = self.ready.get().copied();
        let init_end = ready.unwrap_or(first_invocation);
        let initialization_type = self
            .initialization_type
            .get()
            .cloned()
            .unwrap_or(InitializationType::OnDemand);
        let phases = self
            .phases
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        Some(ColdStartInfo {
            user_visible: initialization_type.is_user_visible_cold_start(),
            initialization_type,
            init_duration: init_end.saturating_duration_since(self.process_start.0),
            includes_runtime_start: self.includes_runtime_start,
            process_start: self.process_start,
            phases,
            first_invocation,
            ready,
        })
    }
}

impl ColdStartInfo {
    /// Where initialization ended: the ready mark, else the first invocation.
    pub fn init_end(&self) -> Instant {
        self.ready.unwrap_or(self.first_invocation)
    }

    /// Whether the function marked itself ready ([`ColdStart::mark_ready`]).
    pub fn has_ready_mark(&self) -> bool {
        self.ready.is_some()
    }

    /// The phases of initialization, each with its start and end, ending with `ready` (last
    /// mark to the end of initialization: [`ColdStartInfo::init_end`]). Marks after the end
    /// are clamped to it.
    pub fn phases(&self) -> Vec<(String, Instant, Instant)> {
        let mut out = Vec::with_capacity(self.phases.len() + 1);
        let init_end = self.init_end().max(self.process_start.0);
        let mut start = self.process_start.0;
        for (name, end) in &self.phases {
            let end = (*end).max(start).min(init_end);
            out.push((name.clone(), start, end));
            start = end;
        }
        out.push(("ready".to_owned(), start, init_end));
        out
    }

    fn wall(&self, at: Instant) -> SystemTime {
        self.process_start.1 + at.saturating_duration_since(self.process_start.0)
    }

    /// Records the initialization span (`faas init`, INTERNAL) and one child per phase, in
    /// the trace of `parent` (the first invocation's span), with their real start and end
    /// times.
    pub fn record_span<T: Tracer>(&self, tracer: &T, parent: &Context)
    where
        T::Span: Send + Sync + 'static,
    {
        let init = tracer
            .span_builder("faas init")
            .with_kind(SpanKind::Internal)
            .with_start_time(self.process_start.1)
            .with_attributes([
                KeyValue::new(
                    attributes::INIT_TYPE,
                    self.initialization_type.as_str().to_owned(),
                ),
                KeyValue::new(
                    attributes::INIT_DURATION_S,
                    self.init_duration.as_secs_f64(),
                ),
                KeyValue::new(
                    attributes::INIT_INCLUDES_RUNTIME_START,
                    self.includes_runtime_start,
                ),
                KeyValue::new(
                    INIT_END,
                    if self.has_ready_mark() {
                        INIT_END_READY
                    } else {
                        INIT_END_FIRST_INVOCATION
                    },
                ),
            ])
            .start_with_context(tracer, parent);
        let init_cx = parent.with_span(init);
        for (name, start, end) in self.phases() {
            let mut phase = tracer
                .span_builder(format!("faas init {name}"))
                .with_kind(SpanKind::Internal)
                .with_start_time(self.wall(start))
                .with_attributes([KeyValue::new(attributes::INIT_PHASE, name)])
                .start_with_context(tracer, &init_cx);
            opentelemetry::trace::Span::end_with_timestamp(&mut phase, self.wall(end));
        }
        init_cx
            .span()
            .end_with_timestamp(self.wall(self.init_end()));
    }
}

/// How long ago this process started, from the operating system (Linux only).
fn process_age() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    process_age_from(&stat, &uptime)
}

/// Pure part of [`process_age`]: field 22 of `stat` (start time in clock ticks after boot)
/// against the first field of `uptime` (seconds since boot).
fn process_age_from(stat: &str, uptime: &str) -> Option<Duration> {
    // The command name (field 2) may contain spaces and parentheses: skip past the last ')'.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields from 3 on; start time is field 22, so index 22 - 3 = 19.
    let start_ticks: f64 = after_comm.split_whitespace().nth(19)?.parse().ok()?;
    let uptime_s: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    let age = uptime_s - start_ticks / CLOCK_TICKS_PER_SECOND;
    (age.is_finite() && age >= 0.0).then(|| Duration::from_secs_f64(age))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn cold_exactly_once_under_concurrency() {
        let cold = Arc::new(ColdStart::from_process());
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let cold = cold.clone();
                std::thread::spawn(move || cold.take().is_some())
            })
            .collect();
        let winners = handles
            .into_iter()
            .filter(|_| true)
            .map(|h| h.join().unwrap())
            .filter(|won| *won)
            .count();
        assert_eq!(winners, 1);
        assert!(cold.take().is_none());
        assert!(cold.is_taken());
    }

    #[test]
    fn reads_the_process_start_from_proc() {
        // A real /proc line whose command contains spaces and a parenthesis.
        let stat = "4242 (my (weird) fn) S 1 4242 4242 0 -1 4194560 1000 0 0 0 5 3 0 0 20 0 4 0 \
                    12345 100000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let age = process_age_from(stat, "130.50 200.00").unwrap();
        // 12345 ticks = 123.45 s after boot; uptime 130.50 s → 7.05 s old.
        assert!((age.as_secs_f64() - 7.05).abs() < 1e-9, "{age:?}");
        assert_eq!(process_age_from("garbage", "1.0"), None);
        assert_eq!(process_age_from(stat, "100.0 1"), None, "negative age");
        if cfg!(target_os = "linux") {
            assert!(ColdStart::from_process().includes_runtime_start);
        }
    }

    #[test]
    fn init_duration_runs_from_process_start_and_phases_chain() {
        let start = Instant::now() - Duration::from_millis(300);
        let cold = ColdStart::starting_at(start, SystemTime::now(), true);
        cold.mark_phase("runtime");
        cold.mark_phase("telemetry");
        let info = cold.take().unwrap();
        assert!(info.init_duration >= Duration::from_millis(300));
        assert!(info.user_visible);
        let phases = info.phases();
        let names: Vec<_> = phases.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["runtime", "telemetry", "ready"]);
        assert_eq!(phases[0].1, start);
        for pair in phases.windows(2) {
            assert_eq!(pair[0].2, pair[1].1, "phases are contiguous");
        }
        cold.mark_phase("ignored after take");
        assert!(!info.has_ready_mark());
        assert_eq!(info.init_end(), phases[2].2);
    }

    #[test]
    fn initialization_ends_at_the_ready_mark_not_at_the_first_event() {
        let start = Instant::now() - Duration::from_millis(300);
        let cold = ColdStart::starting_at(start, SystemTime::now(), true);
        cold.mark_phase("telemetry");
        cold.mark_ready();
        let ready = *cold.ready.get().unwrap();
        cold.mark_ready();
        assert_eq!(cold.ready.get(), Some(&ready), "only the first mark counts");
        std::thread::sleep(Duration::from_millis(5));
        // A phase marked after the function was ready (it waited for the event) is clamped.
        cold.mark_phase("late");
        let info = cold.take().unwrap();
        cold.mark_ready();
        assert!(info.has_ready_mark());
        assert_eq!(info.init_end(), ready);
        assert!(info.first_invocation > ready);
        assert_eq!(info.init_duration, ready.duration_since(start));
        let phases = info.phases();
        let names: Vec<_> = phases.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["telemetry", "late", "ready"]);
        assert_eq!(phases[2].2, ready);
        assert_eq!(phases[1].2, ready, "clamped to the end of initialization");
    }

    #[test]
    fn provisioned_environments_are_not_visible_cold_starts() {
        let cold = ColdStart::from_process();
        cold.set_initialization_type(InitializationType::Provisioned(
            "provisioned-concurrency".into(),
        ));
        cold.set_initialization_type(InitializationType::OnDemand);
        let info = cold.take().unwrap();
        assert!(!info.user_visible);
        assert_eq!(info.initialization_type.as_str(), "provisioned-concurrency");
    }
}
