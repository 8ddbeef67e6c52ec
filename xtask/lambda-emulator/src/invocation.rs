//! What a caller gives an invocation and gets back: options, result, timings, the figures of
//! its `platform.report`, and how the environment ended.

use std::time::{Duration, Instant};

/// Per-call options of [`crate::Emulator::invoke`].
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    /// The caller's trace context: a W3C `traceparent` (turned into an X-Ray header) or an X-Ray
    /// header (`Root=...`, passed through). `None`: a new trace, sampled only with
    /// [`crate::Emulator::set_active_tracing`].
    pub traceparent: Option<String>,
    /// The client context as the runtime receives it (JSON text, already base64-decoded).
    pub client_context: Option<String>,
}

/// Timestamps of one invocation.
#[derive(Debug, Clone, Copy)]
pub struct InvokeTimings {
    /// When [`crate::Emulator::invoke`] queued it.
    pub queued: Instant,
    /// When the runtime received it from `next` (`None`: never delivered, e.g. init failed).
    pub delivered: Option<Instant>,
    /// When the runtime posted its response or error (or the invocation failed otherwise).
    pub completed: Instant,
}

impl InvokeTimings {
    /// The caller's round trip: queued to answered.
    pub fn round_trip(&self) -> Duration {
        self.completed.saturating_duration_since(self.queued)
    }
}

/// A function error, as the Invoke API reports it (`X-Amz-Function-Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `Lambda-Runtime-Function-Error-Type`, the body's `errorType`, or the emulator's own
    /// (`Sandbox.Timedout`, `Runtime.ExitError`, `Runtime.InitError`...).
    pub error_type: String,
}

/// The result of one invocation, available when the runtime answered.
#[derive(Debug, Clone)]
pub struct InvokeResult {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The response payload, or the error document on error.
    pub body: Vec<u8>,
    /// Set when the invocation failed.
    pub error: Option<FunctionError>,
    /// The `Lambda-Runtime-Trace-Id` the runtime was given.
    pub trace_header: String,
    /// When it was queued, delivered and answered.
    pub timings: InvokeTimings,
}

impl InvokeResult {
    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The figures of an invocation's `platform.report`, available when the environment is idle
/// again (runtime and extensions back in `next`).
#[derive(Debug, Clone)]
pub struct Report {
    /// The request id.
    pub request_id: String,
    /// `success`, `error` or `timeout`.
    pub status: String,
    /// `durationMs`: delivery to idle, the part Lambda bills.
    pub duration: Duration,
    /// `billedDurationMs`: `duration` rounded up to the millisecond.
    pub billed_duration_ms: u64,
    /// `memorySizeMB`.
    pub memory_size_mb: u32,
    /// `maxMemoryUsedMB`: sum of the processes' `VmHWM`, MB rounded up.
    pub max_memory_used_mb: u64,
    /// `initDurationMs`, on the first report after an init.
    pub init_duration: Option<Duration>,
    /// When the runtime received the invocation.
    pub delivered: Instant,
    /// When the environment was idle again.
    pub idle: Instant,
}

/// How the processes ended at [`crate::Emulator::shutdown`].
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    /// Whether the runtime exited by itself (after SIGTERM when an extension is registered)
    /// within [`crate::RUNTIME_SHUTDOWN_GRACE`]; `false` when it had to be killed or was not
    /// running.
    pub runtime_exited: bool,
    /// Each extension process by file name, with the time it took to exit after the SHUTDOWN
    /// event (`None`: killed at the deadline).
    pub extensions: Vec<(String, Option<Duration>)>,
}
