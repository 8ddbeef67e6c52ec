//! [`ScriptedLambda`]: the Extensions and Telemetry APIs with no runtime, for testing an
//! extension process. The test starts the extension itself (with [`ScriptedLambda::env`]),
//! queues the INVOKE and SHUTDOWN events, posts Telemetry API batches to the subscribed
//! destination and asserts on the ordered [`Logged`] entries of what the extension did.
//!
//! Every call is cheap and non-blocking except the `wait_*` methods and
//! [`ScriptedLambda::post_telemetry`], which block the calling thread (the waits for at most
//! [`crate::PATIENCE`], then panic naming what they waited for). From a tokio test, run them
//! in `tokio::task::spawn_blocking` (the handle is `Clone + Send`), or use a `multi_thread`
//! runtime whose other workers keep serving the test's own async fakes.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::defaults::{ACCOUNT_ID, DEFAULT_REGION};
use crate::http_client;
use crate::http_server::HttpServer;
use crate::ids;
use crate::journal::{Entry, Journal, Logged, PATIENCE, Sequence};
use crate::request::Request;
use crate::scripted_api::Script;

/// An X-Ray header for scripted invocations that do not name one.
pub const DEFAULT_TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// How to start a [`ScriptedLambda`].
#[derive(Debug, Clone)]
pub struct ScriptedOptions {
    /// `AWS_LAMBDA_FUNCTION_NAME` and the function in the ARNs (default `orders`).
    pub function_name: String,
    /// `AWS_REGION` and the region of the ARNs (default [`DEFAULT_REGION`]).
    pub region: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (default 128).
    pub memory_mb: u32,
    /// Behave as Lambda Managed Instances: a registration asking for INVOKE is refused (400),
    /// a Telemetry API subscription must use schema `2025-01-29`, the Logs API does not exist,
    /// and [`ScriptedLambda::env`] says `AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`.
    pub managed_instances: bool,
    /// The sequence that numbers the entries; share it with the test's other fakes.
    pub sequence: Sequence,
}

impl Default for ScriptedOptions {
    fn default() -> Self {
        Self {
            function_name: "orders".into(),
            region: DEFAULT_REGION.into(),
            memory_mb: 128,
            managed_instances: false,
            sequence: Sequence::new(),
        }
    }
}

/// An INVOKE event to queue.
#[derive(Debug, Clone)]
pub struct InvokeEvent {
    /// `requestId`.
    pub request_id: String,
    /// `deadlineMs` is now (when queued) plus this (default 30 s).
    pub deadline_in: Duration,
    /// `tracing.value` (default [`DEFAULT_TRACE_HEADER`]).
    pub trace_header: String,
    /// `invokedFunctionArn` (default: the function's ARN).
    pub invoked_function_arn: Option<String>,
}

impl InvokeEvent {
    /// An INVOKE for `request_id` with the defaults.
    pub fn new(request_id: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            deadline_in: Duration::from_secs(30),
            trace_header: DEFAULT_TRACE_HEADER.into(),
            invoked_function_arn: None,
        }
    }

    /// With `deadlineMs` `deadline_in` from now.
    pub fn deadline_in(mut self, deadline_in: Duration) -> Self {
        self.deadline_in = deadline_in;
        self
    }

    /// With `trace_header` as `tracing.value`.
    pub fn trace_header(mut self, trace_header: impl Into<String>) -> Self {
        self.trace_header = trace_header.into();
        self
    }

    /// With `arn` as `invokedFunctionArn`.
    pub fn invoked_function_arn(mut self, arn: impl Into<String>) -> Self {
        self.invoked_function_arn = Some(arn.into());
        self
    }
}

/// The Extensions and Telemetry APIs of one scripted sandbox on `127.0.0.1` and a free port.
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

    /// `host:port`: the extension's `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.addr().to_string()
    }

    /// The function's ARN (the INVOKE events' default `invokedFunctionArn`).
    pub fn function_arn(&self) -> String {
        let options = &self.inner.options;
        format!(
            "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}",
            options.region, options.function_name
        )
    }

    /// The variables Lambda gives an extension: `AWS_LAMBDA_RUNTIME_API`,
    /// `AWS_LAMBDA_FUNCTION_NAME`, `_VERSION`, `_MEMORY_SIZE`, `AWS_REGION`,
    /// `AWS_DEFAULT_REGION` and `AWS_LAMBDA_INITIALIZATION_TYPE`.
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
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The sequence numbering the entries (to share with other fakes).
    pub fn sequence(&self) -> Sequence {
        self.inner.script.journal.sequence().clone()
    }

    /// Queues an INVOKE event for the extensions registered for INVOKE (also those that
    /// register later).
    pub fn invoke(&self, event: InvokeEvent) {
        let deadline = ids::epoch_ms(SystemTime::now() + event.deadline_in);
        let arn = event
            .invoked_function_arn
            .unwrap_or_else(|| self.function_arn());
        self.inner.script.queue(json!({
            "eventType": "INVOKE",
            "deadlineMs": deadline,
            "requestId": event.request_id,
            "invokedFunctionArn": arn,
            "tracing": { "type": "X-Amzn-Trace-Id", "value": event.trace_header },
        }));
    }

    /// Queues an INVOKE and waits until it was handed out; the number of that delivery.
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

    /// How many `next` calls arrived.
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

    /// `(error type, body)` of every `init/error`.
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

    /// Blocks until the `n`-th `next` call (1-based) arrived; its number.
    pub fn wait_nexts(&self, n: usize) -> u64 {
        self.wait_for(&format!("{n} calls to next"), |entries| {
            entries
                .iter()
                .filter(|l| l.entry.is_next())
                .nth(n.saturating_sub(1))
                .map(|l| l.seq)
        })
    }

    /// Blocks until the event `id` (a request id, or `SHUTDOWN`) was handed out; the number of
    /// that delivery.
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
