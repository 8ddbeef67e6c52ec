//! One emulated execution environment: its state, its API server, its processes and their log,
//! what to start again after a reset; initialization, invocation and closing. Shared by
//! [`crate::Emulator`] and [`crate::InvokeApi`].

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::defaults::{ACCOUNT_ID, INIT_TIMEOUT};
use crate::function_spec::FunctionSpec;
use crate::http_server::HttpServer;
use crate::ids;
use crate::invocation::{FunctionError, InvokeOptions, InvokeResult, InvokeTimings};
use crate::process::{self, Proc};
use crate::request::Request;
use crate::router;
use crate::state::{Outcome, Pending, Shared, State};
use crate::watchdog;
use crate::xray;

/// The parts of an emulated environment.
#[derive(Debug, Clone)]
pub(crate) struct Environment {
    /// The state and its condition variable.
    pub shared: Arc<Shared>,
    /// Where the APIs listen.
    pub addr: SocketAddr,
    /// The processes started.
    pub procs: Arc<Mutex<Vec<Proc>>>,
    /// Where the processes' output goes (`None`: stderr).
    pub log: Arc<Mutex<Option<File>>>,
    /// What [`Self::start_processes`] started last, to start it again after a reset.
    pub spec: Arc<Mutex<Option<FunctionSpec>>>,
    server: Arc<HttpServer>,
}

impl Environment {
    /// Starts the APIs of function `name` in `region` on `127.0.0.1` and a free port, and the
    /// watchdog; the init phase begins (`platform.initStart`).
    pub fn start(name: &str, region: &str) -> Result<Self> {
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
            settled: Condvar::new(),
            deadlines: Condvar::new(),
        });
        let routes = shared.clone();
        let server = HttpServer::start(
            listener,
            Arc::new(move |request: &Request| router::route(&routes, request)),
        )?;
        let env = Self {
            shared,
            addr,
            procs: Arc::new(Mutex::new(Vec::new())),
            log: Arc::new(Mutex::new(None)),
            spec: Arc::new(Mutex::new(None)),
            server: Arc::new(server),
        };
        env.begin_init(None);
        watchdog::spawn_watchdog(env.shared.clone(), env.procs.clone());
        Ok(env)
    }

    /// `host:port` of the APIs.
    pub fn shared_addr(&self) -> String {
        self.addr.to_string()
    }

    /// The function name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// See [`crate::Emulator::invoke`].
    pub fn invoke(&self, payload: &[u8], options: InvokeOptions) -> Result<InvokeResult> {
        self.reinit_if_needed()?;
        invoke_queued(&self.shared, payload, options)
    }

    /// The started processes.
    pub fn lock_procs(&self) -> MutexGuard<'_, Vec<Proc>> {
        self.procs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resets the per-environment state and emits `platform.initStart`.
    pub fn begin_init(&self, spec: Option<&FunctionSpec>) {
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
        self.shared.notify_all();
    }

    pub fn start_processes(&self, spec: &FunctionSpec) -> Result<()> {
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
            drop(crate::state::wait_on(
                &self.shared.settled,
                state,
                Duration::from_millis(20),
            ));
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
    pub fn close(&self, reason: &str) {
        {
            let mut state = self.shared.lock();
            if state.closed {
                return;
            }
            state.closed = true;
            state.closed_reason = Some(reason.to_string());
            state.subscribers.clear();
            self.shared.notify_all();
        }
        self.server.stop();
    }
}

/// Queues an invocation on `shared` and waits for its answer.
fn invoke_queued(
    shared: &Arc<Shared>,
    payload: &[u8],
    options: InvokeOptions,
) -> Result<InvokeResult> {
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
        shared.notify_all();
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
        state = crate::state::wait_on(&shared.settled, state, Duration::from_millis(200));
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
