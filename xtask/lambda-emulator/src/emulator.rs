//! [`Emulator`]: one emulated Lambda function with one execution environment.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::defaults::{DEFAULT_REGION, EXTENSIONS_SHUTDOWN_GRACE, RUNTIME_SHUTDOWN_GRACE};
use crate::environment::Environment;
use crate::function_spec::FunctionSpec;
use crate::ids;
use crate::invocation::{InvokeOptions, InvokeResult, Report, ShutdownReport};
use crate::memory::{self, ProcessMemory};
use crate::process::{self, Proc};

/// One emulated Lambda function (see the crate documentation). Dropping it ends the
/// environment and kills every process it started.
#[derive(Debug)]
pub struct Emulator {
    env: Environment,
}

impl Emulator {
    /// Starts the APIs of function `name` (region [`DEFAULT_REGION`]) on `127.0.0.1` and a free
    /// port. Run a runtime against [`Self::runtime_api`] yourself, or call [`Self::spawn`].
    pub fn start(name: &str) -> Result<Self> {
        Self::start_in_region(name, DEFAULT_REGION)
    }

    /// As [`Self::start`], in `region`.
    pub fn start_in_region(name: &str, region: &str) -> Result<Self> {
        Ok(Self {
            env: Environment::start(name, region)?,
        })
    }

    /// The environment, for [`crate::InvokeApi`].
    pub(crate) fn environment(&self) -> Environment {
        self.env.clone()
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

    /// Sends the processes' output lines to `path` (appended) instead of stderr (prefixed with the function and process names).
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

    /// Starts the function like Lambda: the extensions first, waiting (up to [`crate::INIT_TIMEOUT`])
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
            state =
                crate::state::wait_on(&self.env.shared.settled, state, Duration::from_millis(50));
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
            state =
                crate::state::wait_on(&self.env.shared.settled, state, Duration::from_millis(100));
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
                let (peak_rss_kb, rss_kb) = memory::memory_kb(pid)?;
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
            self.env.shared.notify_all();
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

impl Drop for Emulator {
    fn drop(&mut self) {
        for mut proc in self.env.lock_procs().drain(..) {
            process::kill(&mut proc.child);
        }
        self.env.close("dropped");
    }
}
