//! [`ScriptedLambda`]: the Runtime, Extensions and Telemetry APIs with no environment state
//! machine, for testing a function or an extension process. The test starts the process
//! itself (with [`ScriptedLambda::env`]), queues the invocations and the SHUTDOWN event, posts
//! Telemetry API batches to the subscribed destination, reads the runtime's answers and
//! asserts on the ordered [`Logged`] entries of what the processes did.
//!
//! Every call is cheap and non-blocking except the `wait_*` methods and
//! [`ScriptedLambda::post_telemetry`], which block the calling thread (the waits for at most
//! [`crate::PATIENCE`], then panic naming what they waited for). From a tokio test, run them
//! in `tokio::task::spawn_blocking` (the handle is `Clone + Send`), or use a `multi_thread`
//! runtime whose other workers keep serving the test's own async fakes.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use faas_testkit::Process;
use serde_json::{Value, json};

use crate::defaults::ACCOUNT_ID;
use crate::http_client;
use crate::http_server::HttpServer;
use crate::ids;
use crate::invocation::InvokeResult;
use crate::invoke_event::InvokeEvent;
use crate::journal::{Entry, Journal, Logged, PATIENCE, Sequence};
use crate::request::Request;
use crate::runtime_protocol::Delivery;
use crate::scripted_api::Script;
use crate::scripted_options::ScriptedOptions;
use crate::scripted_runtime::Queued;

/// The Runtime, Extensions and Telemetry APIs of one scripted sandbox on `127.0.0.1` and a
/// free port.
/// Clones share it; the APIs stop when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct ScriptedLambda {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    script: Arc<Script>,
    server: HttpServer,
    options: ScriptedOptions,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.script.close();
        self.server.stop();
    }
}

impl ScriptedLambda {
    /// Starts with the [`ScriptedOptions::default`] (function `orders`, on-demand).
    pub fn start() -> Result<Self> {
        Self::start_with(ScriptedOptions::default())
    }

    /// Starts with `options`.
    pub fn start_with(options: ScriptedOptions) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let script = Arc::new(Script::new(
            &options.function_name,
            options.managed_instances,
            options.max_concurrency,
            Journal::new(options.sequence.clone()),
        ));
        let routes = script.clone();
        let server = HttpServer::start(
            listener,
            Arc::new(move |request: &Request| routes.handle(request)),
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                script,
                server,
                options,
            }),
        })
    }

    /// Where the APIs listen.
    pub fn addr(&self) -> SocketAddr {
        self.inner.server.addr()
    }

    /// `host:port`: the processes' `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.addr().to_string()
    }

    /// The function's ARN (the invocations' default invoked function ARN).
    pub fn function_arn(&self) -> String {
        let options = &self.inner.options;
        format!(
            "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}",
            options.region, options.function_name
        )
    }

    /// `binary` started as Lambda starts a runtime against this emulator: with only the
    /// variables of [`Self::env`] and `extra` (the environment is otherwise cleared), its
    /// output captured by the test kit's [`Process`] (killed when dropped).
    pub fn start_runtime(
        &self,
        binary: impl AsRef<std::ffi::OsStr>,
        extra: &[(&str, &str)],
    ) -> std::io::Result<Process> {
        let mut command = std::process::Command::new(binary);
        command
            .env_clear()
            .envs(self.env())
            .envs(extra.iter().copied());
        Process::spawn(command)
    }

    /// The variables Lambda gives a runtime and its extensions: `AWS_LAMBDA_RUNTIME_API`,
    /// `AWS_LAMBDA_FUNCTION_NAME`, `_VERSION`, `_MEMORY_SIZE`, `AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, `AWS_LAMBDA_INITIALIZATION_TYPE` and, with a
    /// [`ScriptedOptions::max_concurrency`] above 1 or on Lambda Managed Instances,
    /// `AWS_LAMBDA_MAX_CONCURRENCY`.
    pub fn env(&self) -> Vec<(String, String)> {
        let options = &self.inner.options;
        let initialization = if options.managed_instances {
            "lambda-managed-instances"
        } else {
            "on-demand"
        };
        [
            ("AWS_LAMBDA_RUNTIME_API", self.runtime_api()),
            ("AWS_LAMBDA_FUNCTION_NAME", options.function_name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_VERSION",
                self.inner.script.version.clone(),
            ),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                options.memory_mb.to_string(),
            ),
            ("AWS_REGION", options.region.clone()),
            ("AWS_DEFAULT_REGION", options.region.clone()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", initialization.to_string()),
        ]
        .into_iter()
        .chain(
            (options.managed_instances || options.max_concurrency > 1).then(|| {
                (
                    "AWS_LAMBDA_MAX_CONCURRENCY",
                    options.max_concurrency.max(1).to_string(),
                )
            }),
        )
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The sequence numbering the entries (to share with other fakes).
    pub fn sequence(&self) -> Sequence {
        self.inner.script.journal.sequence().clone()
    }

    /// Queues an invocation: an INVOKE event for the extensions registered for INVOKE (also
    /// those that register later), and the event for the runtime's next free `next` caller.
    pub fn invoke(&self, event: InvokeEvent) {
        self.invoke_all([event]);
    }

    /// Queues invocations together, in order: the runtime's `next` callers already waiting
    /// (see [`Self::wait_runtime_nexts`]) get one each at once, up to the maximum concurrency,
    /// before any of them can answer (as on Lambda Managed Instances under a burst);
    /// [`Self::max_runtime_in_flight`] tells how many were in flight together.
    pub fn invoke_all(&self, events: impl IntoIterator<Item = InvokeEvent>) {
        let queued: Vec<Queued> = events
            .into_iter()
            .map(|event| self.queue_invoke_event(event))
            .collect();
        self.inner.script.runtime.queue(queued);
    }

    /// While `hold` is true, the runtime's response (or error) POSTs are recorded at once
    /// (results, journal) but answered only once it is false again (at most 30 s later): a test
    /// sees what the function does while its response is being posted.
    pub fn hold_answers(&self, hold: bool) {
        self.inner.script.runtime.hold_answers(hold);
    }

    /// The most invocations that were in flight in the runtime at once (delivered, not yet
    /// answered).
    pub fn max_runtime_in_flight(&self) -> usize {
        self.inner.script.runtime.max_in_flight()
    }

    /// Queues `event`'s INVOKE event for the extensions; what the runtime is to be given.
    fn queue_invoke_event(&self, event: InvokeEvent) -> Queued {
        let deadline_ms = ids::epoch_ms(SystemTime::now() + event.deadline_in);
        let arn = event
            .invoked_function_arn
            .unwrap_or_else(|| self.function_arn());
        let mut invoke = json!({
            "eventType": "INVOKE",
            "deadlineMs": deadline_ms,
            "requestId": event.request_id,
            "invokedFunctionArn": arn,
        });
        if let Some(trace_header) = &event.trace_header {
            invoke["tracing"] = json!({ "type": "X-Amzn-Trace-Id", "value": trace_header });
        }
        self.inner.script.queue(invoke);
        Queued {
            delivery: Delivery {
                request_id: event.request_id,
                deadline_ms,
                invoked_function_arn: arn,
                trace_header: event.trace_header,
                client_context: event.client_context,
                cognito_identity: event.cognito_identity,
                payload: event.payload,
            },
            queued_at: Instant::now(),
        }
    }

    /// Queues an invocation and waits until an extension got its INVOKE event; the number of
    /// that delivery.
    pub fn invoke_and_wait(&self, event: InvokeEvent) -> u64 {
        let id = event.request_id.clone();
        self.invoke(event);
        self.wait_delivered(&id)
    }

    /// Queues a SHUTDOWN event (`shutdownReason` `reason`: `spindown`, `timeout`, `failure`)
    /// with `deadlineMs` `deadline_in` from now.
    pub fn shutdown(&self, reason: &str, deadline_in: Duration) {
        let deadline = ids::epoch_ms(SystemTime::now() + deadline_in);
        self.inner.script.queue(json!({
            "eventType": "SHUTDOWN",
            "shutdownReason": reason,
            "deadlineMs": deadline,
        }));
    }

    /// Queues an invocation and waits for the runtime's answer (see [`Self::wait_answer`]).
    pub fn invoke_and_answer(&self, event: InvokeEvent) -> InvokeResult {
        let id = event.request_id.clone();
        self.invoke(event);
        self.wait_answer(&id)
    }

    /// Blocks until the runtime answered invocation `id` (response or error); the result:
    /// body, [`crate::FunctionError`] for an error, the trace header it was given (empty when
    /// none) and when it was queued, delivered and answered.
    pub fn wait_answer(&self, id: &str) -> InvokeResult {
        // The result is stored before its entry is recorded, whose push wakes this wait.
        let runtime = &self.inner.script.runtime;
        self.wait_for(&format!("the runtime's answer to {id}"), |_| {
            runtime.result(id)
        })
    }

    /// Blocks until the `n`-th (1-based) call of the runtime to `next` arrived; that entry (its
    /// number and time).
    pub fn wait_runtime_nexts(&self, n: usize) -> Logged {
        self.wait_for(&format!("{n} calls of the runtime to next"), |entries| {
            entries
                .iter()
                .filter(|l| l.entry.is_runtime_next())
                .nth(n.saturating_sub(1))
                .cloned()
        })
    }

    /// `(error type, body)` of every `POST /2018-06-01/runtime/init/error`.
    pub fn runtime_init_errors(&self) -> Vec<(String, String)> {
        self.entries()
            .into_iter()
            .filter_map(|l| match l.entry {
                Entry::RuntimeInitError { error_type, body } => Some((error_type, body)),
                _ => None,
            })
            .collect()
    }

    /// Every entry so far, in order.
    pub fn entries(&self) -> Vec<Logged> {
        self.inner.script.journal.entries()
    }

    /// How many entries match `predicate`.
    pub fn count(&self, predicate: impl Fn(&Entry) -> bool) -> usize {
        self.entries()
            .iter()
            .filter(|l| predicate(&l.entry))
            .count()
    }

    /// How many `next` calls of extensions arrived.
    pub fn nexts(&self) -> usize {
        self.count(Entry::is_next)
    }

    /// `(name, events, refused)` of every registration.
    pub fn registrations(&self) -> Vec<(String, Vec<String>, bool)> {
        self.entries()
            .into_iter()
            .filter_map(|l| match l.entry {
                Entry::Register {
                    name,
                    events,
                    refused,
                } => Some((name, events, refused)),
                _ => None,
            })
            .collect()
    }

    /// The bodies of every subscription (accepted or not), in order.
    pub fn subscriptions(&self) -> Vec<Value> {
        self.entries()
            .into_iter()
            .filter_map(|l| match l.entry {
                Entry::Subscribe { body, .. } => Some(body),
                _ => None,
            })
            .collect()
    }

    /// `(error type, body)` of every extension `init/error`.
    pub fn init_errors(&self) -> Vec<(String, String)> {
        self.entries()
            .into_iter()
            .filter_map(|l| match l.entry {
                Entry::InitError {
                    error_type, body, ..
                } => Some((error_type, body)),
                _ => None,
            })
            .collect()
    }

    /// `(error type, body)` of every `exit/error`.
    pub fn exit_errors(&self) -> Vec<(String, String)> {
        self.entries()
            .into_iter()
            .filter_map(|l| match l.entry {
                Entry::ExitError {
                    error_type, body, ..
                } => Some((error_type, body)),
                _ => None,
            })
            .collect()
    }

    /// The URL of the latest accepted subscription's destination (`sandbox.localdomain`
    /// mapped to `127.0.0.1`), if any.
    pub fn destination(&self) -> Option<String> {
        self.inner
            .script
            .lock()
            .destinations
            .last()
            .map(|(_, d)| d.url())
    }

    /// Blocks until `check` gives a value for the entries, at most [`PATIENCE`]; panics naming
    /// `what` otherwise.
    pub fn wait_for<T>(&self, what: &str, check: impl Fn(&[Logged]) -> Option<T>) -> T {
        self.inner.script.journal.wait_for(what, check)
    }

    /// Blocks until `predicate` holds for the entries; panics naming `what` after [`PATIENCE`].
    pub fn wait_until(&self, what: &str, predicate: impl Fn(&[Logged]) -> bool) {
        self.wait_for(what, |entries| predicate(entries).then_some(()));
    }

    /// Blocks until the `n`-th `next` call (1-based) of an extension arrived; its number.
    pub fn wait_nexts(&self, n: usize) -> u64 {
        self.wait_for(&format!("{n} calls to next"), |entries| {
            entries
                .iter()
                .filter(|l| l.entry.is_next())
                .nth(n.saturating_sub(1))
                .map(|l| l.seq)
        })
    }

    /// Blocks until the event `id` (a request id, or `SHUTDOWN`) was handed out to an
    /// extension; the number of that delivery.
    pub fn wait_delivered(&self, id: &str) -> u64 {
        self.wait_for(&format!("the delivery of {id}"), |entries| {
            entries
                .iter()
                .find(|l| l.entry.is_delivery_of(id))
                .map(|l| l.seq)
        })
    }

    /// Blocks until a subscription was accepted; its destination URL.
    pub fn wait_subscribed(&self) -> String {
        let accepted = |entries: &[Logged]| {
            entries
                .iter()
                .any(|l| matches!(l.entry, Entry::Subscribe { accepted: true, .. }))
                .then_some(())
        };
        self.wait_for("an accepted Telemetry API subscription", accepted);
        self.destination().unwrap_or_default()
    }

    /// POSTs `batch` (a JSON array of Telemetry API records, as Lambda sends them) to the
    /// latest accepted subscription's destination, waiting for the subscription first; the
    /// status the extension answered. Recorded as [`Entry::TelemetryPosted`] after the answer.
    pub fn post_telemetry(&self, batch: impl AsRef<[u8]>) -> Result<u16> {
        let destination = self.wait_subscribed();
        if destination.is_empty() {
            bail!("no Telemetry API subscription");
        }
        let result = http_client::agent(PATIENCE)
            .post(&destination)
            .header("Content-Type", "application/json")
            .send(batch.as_ref());
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        self.inner
            .script
            .journal
            .push(Entry::TelemetryPosted { status });
        let response = result.with_context(|| format!("POST {destination}"))?;
        Ok(response.status().as_u16())
    }
}
