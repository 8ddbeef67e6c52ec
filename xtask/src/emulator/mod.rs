//! A local AWS Lambda emulator, faithful to the documented protocols, for `cargo xtask bench`
//! and `cargo xtask demo`. std threads and hand-rolled HTTP/1.1 on `127.0.0.1:0`.
//!
//! One [`Emulator`] is one function with one execution environment. It serves
//! - the Runtime API 2018-06-01 ([`runtime_api`]): `next` with `Lambda-Runtime-Aws-Request-Id`,
//!   `-Deadline-Ms` (delivery time + timeout), `-Invoked-Function-Arn`, `-Trace-Id` (an X-Ray
//!   header, see [`xray`]) and `-Client-Context`; `response`, `error`, `init/error`;
//! - the Extensions API 2020-01-01 ([`extensions_api`]): register, INVOKE / SHUTDOWN events,
//!   init and exit errors;
//! - the Telemetry API 2022-07-01 ([`telemetry_api`]): subscriptions, then `platform.initStart`,
//!   `platform.initRuntimeDone`, `platform.initReport`, `platform.start`, `platform.runtimeDone`,
//!   `platform.report` (duration, billed duration, memory size, peak memory from
//!   `/proc/<pid>/status`, init duration on the first) and the processes' output lines
//!   (`function` / `extension`) POSTed to the subscriber.
//!
//! Lambda semantics: an invocation completes for its caller when the runtime posts its response;
//! the environment takes no new invocation until the runtime AND every extension that got the
//! INVOKE event have called `next` again (the report is emitted then); an invoke phase longer
//! than the timeout, or a runtime that exits, resets the environment, which is initialized again
//! at the next invocation. What is not emulated: freezing the processes between invocations
//! (they keep running), concurrency above one, response streaming, SnapStart.
//!
//! [`InvokeApi`] is the Lambda service's `Invoke` operation for several emulators, so that one
//! function can invoke another through the AWS SDK (`AWS_ENDPOINT_URL_LAMBDA`).

// The API serves the bench and the demo; neither uses every accessor.
#![allow(dead_code)]

mod extensions_api;
pub(crate) mod http;
mod ids;
mod invoke_api;
mod process;
mod runtime_api;
mod server;
mod state;
mod telemetry_api;
mod xray;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

pub use invoke_api::InvokeApi;
pub(crate) use process::memory_kb;
pub use process::{FunctionSpec, ProcessMemory};

use process::Proc;
use state::{Outcome, Pending, Shared, State};

/// The AWS account of every emulated ARN.
pub const ACCOUNT_ID: &str = "123456789012";

/// The region of [`Emulator::start`].
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long extensions may take to register, and the runtime to reach `next` (Lambda's init
/// phase limit).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the runtime has to exit after SIGTERM at shutdown before it is killed.
pub const RUNTIME_SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// How long extensions have after the SHUTDOWN event before they are killed.
pub const EXTENSIONS_SHUTDOWN_GRACE: Duration = Duration::from_millis(2000);

/// Per-call options of [`Emulator::invoke`].
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    /// The caller's trace context: a W3C `traceparent` (turned into an X-Ray header) or an X-Ray
    /// header (`Root=...`, passed through). `None`: a new trace, sampled only with
    /// [`Emulator::set_active_tracing`].
    pub traceparent: Option<String>,
    /// The client context as the runtime receives it (JSON text, already base64-decoded).
    pub client_context: Option<String>,
}

/// Timestamps of one invocation.
#[derive(Debug, Clone, Copy)]
pub struct InvokeTimings {
    /// When [`Emulator::invoke`] queued it.
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

/// How the processes ended at [`Emulator::shutdown`].
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    /// Whether the runtime exited by itself (after SIGTERM when an extension is registered)
    /// within [`RUNTIME_SHUTDOWN_GRACE`]; `false` when it had to be killed or was not running.
    pub runtime_exited: bool,
    /// Each extension process by file name, with the time it took to exit after the SHUTDOWN
    /// event (`None`: killed at the deadline).
    pub extensions: Vec<(String, Option<Duration>)>,
}

/// One emulated Lambda function (see the module documentation). Dropping it ends the
/// environment and kills every process it started.
#[derive(Debug)]
pub struct Emulator {
    env: Environment,
}

/// The parts of an emulated environment, shared with the watchdog and [`InvokeApi`].
#[derive(Debug, Clone)]
pub(crate) struct Environment {
    shared: Arc<Shared>,
    addr: SocketAddr,
    procs: Arc<Mutex<Vec<Proc>>>,
    log: Arc<Mutex<Option<File>>>,
    spec: Arc<Mutex<Option<FunctionSpec>>>,
}

impl Emulator {
    /// Starts the APIs of function `name` (region [`DEFAULT_REGION`]) on `127.0.0.1` and a free
    /// port. Run a runtime against [`Self::runtime_api`] yourself, or call [`Self::spawn`].
    pub fn start(name: &str) -> Result<Self> {
        Self::start_in_region(name, DEFAULT_REGION)
    }

    /// As [`Self::start`], in `region`.
    pub fn start_in_region(name: &str, region: &str) -> Result<Self> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("function name {name:?} is not a Lambda function name (1-64 of A-Z a-z 0-9 - _)");
        }
        let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            name: name.to_string(),
            region: region.to_string(),
            arn: format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"),
            version: "$LATEST".into(),
            state: Mutex::new(State {
                memory_mb: 128,
                timeout: Duration::from_secs(3),
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let env = Environment {
            shared: shared.clone(),
            addr,
            procs: Arc::new(Mutex::new(Vec::new())),
            log: Arc::new(Mutex::new(None)),
            spec: Arc::new(Mutex::new(None)),
        };
        env.begin_init(None);
        server::spawn_listener(listener, shared);
        spawn_watchdog(env.shared.clone(), env.procs.clone());
        Ok(Self { env })
    }

    /// `host:port` of the APIs: the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.env.addr.to_string()
    }

    /// The function name.
    pub fn name(&self) -> &str {
        &self.env.shared.name
    }

    /// The function's ARN (`Lambda-Runtime-Invoked-Function-Arn`).
    pub fn function_arn(&self) -> &str {
        &self.env.shared.arn
    }

    /// Sends the processes' output lines to `path` (appended) instead of xtask's stderr.
    pub fn log_to(&self, path: &std::path::Path) -> Result<()> {
        let file = process::open_log(path)?;
        *self.env.log.lock().unwrap_or_else(|p| p.into_inner()) = Some(file);
        Ok(())
    }

    /// Lambda's active tracing: invocations without a trace context start sampled traces
    /// (`Sampled=1`) instead of PassThrough's `Sampled=0`.
    pub fn set_active_tracing(&self, active: bool) {
        self.env.shared.lock().active_tracing = active;
    }

    /// Starts the function like Lambda: the extensions first, waiting (up to [`INIT_TIMEOUT`])
    /// until each has registered, then the runtime, all with the Lambda environment
    /// (`AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME`/`_VERSION`/`_MEMORY_SIZE`,
    /// `AWS_REGION`, `_HANDLER`, credentials, ...) plus `spec.env`. Records the runtime's exec
    /// time; [`Self::wait_ready`] gives the cold start.
    pub fn spawn(&self, spec: FunctionSpec) -> Result<()> {
        {
            let mut procs = self.env.lock_procs();
            if procs.iter().any(|p| p.is_runtime) {
                bail!("{}: a runtime was spawned already", self.name());
            }
            procs.clear();
        }
        *self.env.spec.lock().unwrap_or_else(|p| p.into_inner()) = Some(spec.clone());
        self.env.start_processes(&spec)
    }

    /// Waits (up to `timeout`) for the runtime's first `next` and returns the cold start:
    /// exec of the runtime to its first `next` (from [`Self::start`] when not spawned).
    pub fn wait_ready(&self, timeout: Duration) -> Result<Duration> {
        let deadline = Instant::now() + timeout;
        let mut state = self.env.shared.lock();
        loop {
            if let Some(first) = state.first_next {
                let from = state
                    .exec_at
                    .or(state.init_start.map(|(i, _)| i))
                    .unwrap_or(first);
                return Ok(first.saturating_duration_since(from));
            }
            if let Some((error_type, body)) = &state.init_error {
                bail!(
                    "{}: init failed: {error_type}: {}",
                    self.env.shared.name,
                    String::from_utf8_lossy(body)
                );
            }
            if let Some(reason) = &state.closed_reason {
                bail!("{}: {reason}", self.env.shared.name);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: the runtime did not call next within {timeout:?}",
                    self.env.shared.name
                );
            }
            state = self.env.shared.wait(state, Duration::from_millis(50));
        }
    }

    /// The cold start measured so far (see [`Self::wait_ready`]), `None` before the first `next`.
    pub fn cold_start(&self) -> Option<Duration> {
        let state = self.env.shared.lock();
        let first = state.first_next?;
        let from = state.exec_at.or(state.init_start.map(|(i, _)| i))?;
        Some(first.saturating_duration_since(from))
    }

    /// Invokes the function synchronously (`RequestResponse`) with `payload` and waits for the
    /// runtime's answer. A function error is an `Ok` result with [`InvokeResult::error`]; `Err`
    /// means the emulator could not run the invocation (shut down, not started).
    pub fn invoke(&self, payload: &[u8], options: InvokeOptions) -> Result<InvokeResult> {
        self.env.invoke(payload, options)
    }

    /// Waits (up to `timeout`) for the `platform.report` of `request_id`.
    pub fn wait_report(&self, request_id: &str, timeout: Duration) -> Result<Report> {
        let deadline = Instant::now() + timeout;
        let mut state = self.env.shared.lock();
        loop {
            if let Some(data) = state.reports.remove(request_id) {
                return Ok(Report {
                    request_id: request_id.to_string(),
                    status: data.status.to_string(),
                    duration: data.duration,
                    billed_duration_ms: data.billed_ms,
                    memory_size_mb: state.memory_mb,
                    max_memory_used_mb: data.max_memory_used_mb,
                    init_duration: data.init_duration,
                    delivered: data.delivered_at,
                    idle: data.idle_at,
                });
            }
            if state.closed {
                bail!(
                    "{}: shut down before the report of {request_id}",
                    self.env.shared.name
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: no report for {request_id} within {timeout:?}",
                    self.env.shared.name
                );
            }
            state = self.env.shared.wait(state, Duration::from_millis(100));
        }
    }

    /// Every platform event emitted so far, as the Telemetry API delivers them
    /// (`{"time", "type", "record"}`).
    pub fn platform_events(&self) -> Vec<Value> {
        self.env.shared.lock().events.clone()
    }

    /// Registered extensions by name, in registration order.
    pub fn extensions(&self) -> Vec<String> {
        self.env
            .shared
            .lock()
            .extensions
            .iter()
            .map(|e| e.name.clone())
            .collect()
    }

    /// `(extension, "init: <type>" | "exit: <type>", body)` of every extension error posted.
    pub fn extension_errors(&self) -> Vec<(String, String, String)> {
        self.env.shared.lock().extension_errors.clone()
    }

    /// `(error type, body)` of the runtime's `init/error`, if it posted one.
    pub fn init_error(&self) -> Option<(String, String)> {
        self.env
            .shared
            .lock()
            .init_error
            .as_ref()
            .map(|(t, b)| (t.clone(), String::from_utf8_lossy(b).into_owned()))
    }

    /// Memory of each running process the emulator started.
    pub fn process_memory(&self) -> Vec<ProcessMemory> {
        self.env
            .lock_procs()
            .iter()
            .filter_map(|p| {
                let pid = p.child.id();
                let (peak_rss_kb, rss_kb) = process::memory_kb(pid)?;
                Some(ProcessMemory {
                    name: p.name.clone(),
                    pid,
                    peak_rss_kb,
                    rss_kb,
                })
            })
            .collect()
    }

    /// Ends the environment like Lambda: SIGTERM to the runtime when an extension is registered
    /// (else SIGKILL), [`RUNTIME_SHUTDOWN_GRACE`] to exit; then the SHUTDOWN event to the
    /// extensions that asked for it and [`EXTENSIONS_SHUTDOWN_GRACE`] for them to exit; whatever
    /// is left is killed. The APIs stop answering. Calling it again does nothing.
    pub fn shutdown(&self) -> Result<ShutdownReport> {
        let mut report = ShutdownReport::default();
        let has_extensions = !self.env.shared.lock().extensions.is_empty();
        let mut procs: Vec<Proc> = self.env.lock_procs().drain(..).collect();
        for proc in procs.iter_mut().filter(|p| p.is_runtime) {
            if has_extensions && process::signal(proc.child.id(), "TERM") {
                report.runtime_exited =
                    process::wait_until(&mut proc.child, Instant::now() + RUNTIME_SHUTDOWN_GRACE);
            }
            process::kill(&mut proc.child);
        }
        let deadline = SystemTime::now() + EXTENSIONS_SHUTDOWN_GRACE;
        let sent = Instant::now();
        {
            let mut state = self.env.shared.lock();
            let event = json!({
                "eventType": "SHUTDOWN",
                "shutdownReason": "spindown",
                "deadlineMs": ids::epoch_ms(deadline),
            });
            for extension in state.extensions.iter_mut().filter(|e| e.shutdown) {
                extension.pending.push_back(event.clone());
            }
            self.env.shared.changed.notify_all();
        }
        for proc in procs.iter_mut().filter(|p| !p.is_runtime) {
            let exited = process::wait_until(&mut proc.child, sent + EXTENSIONS_SHUTDOWN_GRACE);
            report
                .extensions
                .push((proc.name.clone(), exited.then(|| sent.elapsed())));
            process::kill(&mut proc.child);
        }
        self.env.close("shut down");
        Ok(report)
    }
}

impl Environment {
    /// `host:port` of the APIs.
    fn shared_addr(&self) -> String {
        self.addr.to_string()
    }

    /// The function name.
    fn name(&self) -> &str {
        &self.shared.name
    }

    /// See [`Emulator::invoke`].
    fn invoke(&self, payload: &[u8], options: InvokeOptions) -> Result<InvokeResult> {
        invoke_shared(&self.shared, payload, options, &|| self.reinit_if_needed())
    }

    fn lock_procs(&self) -> MutexGuard<'_, Vec<Proc>> {
        self.procs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resets the per-environment state and emits `platform.initStart`.
    fn begin_init(&self, spec: Option<&FunctionSpec>) {
        let mut state = self.shared.lock();
        // An init that nothing took part in yet (the one of `start`, before `spawn`) is
        // replaced, not reported twice.
        let untouched = state.first_next.is_none()
            && state.extensions.is_empty()
            && state.pids.is_empty()
            && state
                .events
                .last()
                .is_some_and(|e| e["type"] == "platform.initStart");
        if untouched {
            state.events.pop();
        }
        if let Some(spec) = spec {
            state.memory_mb = spec.memory_mb;
            state.timeout = spec.timeout;
        }
        state.init_start = Some((Instant::now(), SystemTime::now()));
        state.exec_at = None;
        state.first_next = None;
        state.init_duration = None;
        state.init_duration_pending = false;
        state.init_error = None;
        state.extensions.clear();
        state.subscribers.clear();
        state.pids.clear();
        state.inflight = None;
        state.closed_reason = None;
        let record = json!({
            "initializationType": "on-demand",
            "phase": "init",
            "functionName": self.shared.name,
            "functionVersion": self.shared.version,
            "instanceMaxMemory": state.memory_mb,
            "runtimeVersion": "provided:al2023",
        });
        self.shared.emit(&mut state, "platform.initStart", record);
        self.shared.changed.notify_all();
    }

    fn start_processes(&self, spec: &FunctionSpec) -> Result<()> {
        self.begin_init(Some(spec));
        let env = process::lambda_env(&self.shared, spec, &self.shared_addr());
        for binary in &spec.extensions {
            let child = process::start(binary, &env, &self.shared, &self.log, "extension")?;
            self.shared.lock().pids.push(child.id());
            self.lock_procs().push(Proc {
                name: process::file_name(binary),
                child,
                is_runtime: false,
            });
        }
        self.wait_registrations(spec.extensions.len())?;
        let exec_at = Instant::now();
        let child = process::start(&spec.binary, &env, &self.shared, &self.log, "function")?;
        {
            let mut state = self.shared.lock();
            state.exec_at = Some(exec_at);
            state.pids.push(child.id());
        }
        self.lock_procs().push(Proc {
            name: process::file_name(&spec.binary),
            child,
            is_runtime: true,
        });
        Ok(())
    }

    /// Waits until `count` extensions have registered; fails when one exits first or the init
    /// timeout passes.
    fn wait_registrations(&self, count: usize) -> Result<()> {
        let deadline = Instant::now() + INIT_TIMEOUT;
        loop {
            if self.shared.lock().extensions.len() >= count {
                return Ok(());
            }
            for proc in self.lock_procs().iter_mut() {
                if let Ok(Some(status)) = proc.child.try_wait() {
                    bail!(
                        "extension {} exited ({status}) before registering",
                        proc.name
                    );
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "{}: only {} of {count} extensions registered within {} s",
                    self.name(),
                    self.shared.lock().extensions.len(),
                    INIT_TIMEOUT.as_secs()
                );
            }
            let state = self.shared.lock();
            drop(self.shared.wait(state, Duration::from_millis(20)));
        }
    }

    /// Re-initializes the environment when a timeout or a crash reset it.
    fn reinit_if_needed(&self) -> Result<()> {
        let needed = {
            let state = self.shared.lock();
            !state.closed && state.closed_reason.is_some()
        };
        if !needed {
            return Ok(());
        }
        let spec = self.spec.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(spec) = spec else {
            bail!(
                "{}: the environment was reset and no spec is known to start it again",
                self.name()
            );
        };
        for mut proc in self.lock_procs().drain(..) {
            process::kill(&mut proc.child);
        }
        self.start_processes(&spec)
    }

    /// Marks the environment closed, wakes every waiter and the listener.
    fn close(&self, reason: &str) {
        {
            let mut state = self.shared.lock();
            if state.closed {
                return;
            }
            state.closed = true;
            state.closed_reason = Some(reason.to_string());
            state.subscribers.clear();
            self.shared.changed.notify_all();
        }
        // Wake the accept loop so that it sees `closed` and ends.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        for mut proc in self.env.lock_procs().drain(..) {
            process::kill(&mut proc.child);
        }
        self.env.close("dropped");
    }
}

/// Queues an invocation on `shared` and waits for its answer; `before` runs first (the
/// re-init of a reset environment).
fn invoke_shared(
    shared: &Arc<Shared>,
    payload: &[u8],
    options: InvokeOptions,
    before: &dyn Fn() -> Result<()>,
) -> Result<InvokeResult> {
    before()?;
    let queued = Instant::now();
    let id = ids::uuid();
    let trace_header;
    let timeout;
    {
        let mut state = shared.lock();
        if state.closed {
            bail!("{}: the emulator is shut down", shared.name);
        }
        trace_header = xray::trace_header(options.traceparent.as_deref(), state.active_tracing);
        timeout = state.timeout;
        state.queue.push_back(Pending {
            id: id.clone(),
            payload: payload.to_vec(),
            trace_header: trace_header.clone(),
            client_context: options.client_context,
            queued_at: queued,
        });
        shared.changed.notify_all();
    }
    // Generous bound against hangs: a whole init plus the previous and this invocation.
    let give_up = queued + INIT_TIMEOUT + 2 * timeout + Duration::from_secs(10);
    let mut state = shared.lock();
    loop {
        if let Some(outcome) = state.outcomes.remove(&id) {
            return Ok(result(id, outcome));
        }
        let queued_still = state.queue.iter().any(|p| p.id == id);
        if queued_still && let Some((error_type, body)) = state.init_error.clone() {
            state.queue.retain(|p| p.id != id);
            let outcome = Outcome {
                body,
                error_type: Some(error_type),
                trace_header,
                queued_at: queued,
                delivered_at: None,
                completed_at: Instant::now(),
            };
            return Ok(result(id, outcome));
        }
        if state.closed {
            bail!(
                "{}: the emulator shut down during invocation {id}",
                shared.name
            );
        }
        if Instant::now() > give_up {
            state.queue.retain(|p| p.id != id);
            bail!(
                "{}: invocation {id} got no answer within {:?}",
                shared.name,
                give_up - queued
            );
        }
        state = shared.wait(state, Duration::from_millis(200));
    }
}

fn result(request_id: String, outcome: Outcome) -> InvokeResult {
    InvokeResult {
        request_id,
        error: outcome
            .error_type
            .map(|error_type| FunctionError { error_type }),
        body: outcome.body,
        trace_header: outcome.trace_header,
        timings: InvokeTimings {
            queued: outcome.queued_at,
            delivered: outcome.delivered_at,
            completed: outcome.completed_at,
        },
    }
}

/// Enforces the timeout of the invoke phase and notices a runtime that exits: either fails the
/// invocation in flight (`Sandbox.Timedout`, `Runtime.ExitError`), kills the processes and
/// marks the environment for re-initialization at the next invocation.
fn spawn_watchdog(shared: Arc<Shared>, procs: Arc<Mutex<Vec<Proc>>>) {
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
            drop(shared.wait(state, wait));
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
    shared.changed.notify_all();
}
