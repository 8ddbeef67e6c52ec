//! The APIs of the scripted mode: no state machine of an environment; events are handed out
//! in the order the test queued them, and everything the extension and the function do is
//! recorded in the [`Journal`].
//!
//! Routes: the Runtime API under `/2018-06-01/runtime/` (in [`ScriptedRuntime`]),
//! `POST /2020-01-01/extension/register`, `GET /2020-01-01/extension/event/next` (a long poll,
//! answered from the thread tiny_http gave the request once the test queues an event),
//! `POST /2020-01-01/extension/init/error` and `.../exit/error`,
//! `PUT /2022-07-01/telemetry` and (except on Lambda Managed Instances) `PUT /2020-08-15/logs`.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::ids;
use crate::journal::{Entry, Journal};
use crate::registration::{self, Registration};
use crate::reply::Reply;
use crate::request::Request;
use crate::scripted_runtime::ScriptedRuntime;
use crate::subscription::{self, Destination};

/// The schema version a subscription must use on Lambda Managed Instances.
pub(crate) const MANAGED_INSTANCES_SCHEMA: &str = "2025-01-29";

/// One registered extension.
#[derive(Debug)]
struct Registered {
    id: String,
    name: String,
    invoke: bool,
    shutdown: bool,
    /// Index of the next queued event to look at.
    cursor: usize,
}

/// What changes, behind one mutex.
#[derive(Debug, Default)]
pub(crate) struct ScriptState {
    /// Every event queued by the test, in order.
    pub events: Vec<Value>,
    registered: Vec<Registered>,
    /// The accepted subscriptions' destinations, by extension name, in order.
    pub destinations: Vec<(String, Destination)>,
    /// Set when the scripted Lambda is dropped: long polls give up.
    pub closed: bool,
}

/// The scripted Lambda's fixed facts, its state and its journal.
#[derive(Debug)]
pub(crate) struct Script {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub version: String,
    /// Whether this is Lambda Managed Instances (INVOKE refused, schema `2025-01-29` only, no
    /// Logs API).
    pub managed_instances: bool,
    /// The record of what happened.
    pub journal: Journal,
    /// The Runtime API's side: invocations queued and in flight, results.
    pub runtime: ScriptedRuntime,
    state: Mutex<ScriptState>,
    changed: Condvar,
}

impl Script {
    /// A script for `function_name` with an empty state, whose runtime side keeps at most
    /// `max_concurrency` invocations in flight.
    pub fn new(
        function_name: &str,
        managed_instances: bool,
        max_concurrency: usize,
        journal: Journal,
    ) -> Self {
        Self {
            function_name: function_name.to_string(),
            version: "$LATEST".into(),
            managed_instances,
            journal,
            runtime: ScriptedRuntime::new(max_concurrency),
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    /// Locks the state (a poisoned lock is still usable).
    pub fn lock(&self) -> MutexGuard<'_, ScriptState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `event` for every extension registered (now or later) for its type.
    pub fn queue(&self, event: Value) {
        self.lock().events.push(event);
        self.changed.notify_all();
    }

    /// Ends the long polls.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
        self.runtime.close();
        self.journal.notify();
    }

    /// Routes one request.
    pub fn handle(&self, request: &Request) -> Option<Reply> {
        let path = request.path.as_str();
        let method = request.method.as_str();
        if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") {
            return self.runtime.handle(&self.journal, request, rest);
        }
        Some(match (method, path) {
            ("POST", "/2020-01-01/extension/register") => self.register(request),
            ("GET", "/2020-01-01/extension/event/next") => return self.next(request),
            ("POST", "/2020-01-01/extension/init/error") => self.error(request, true),
            ("POST", "/2020-01-01/extension/exit/error") => self.error(request, false),
            ("PUT", "/2022-07-01/telemetry") => self.subscribe(request),
            ("PUT", "/2020-08-15/logs") if !self.managed_instances => self.subscribe(request),
            _ => Reply::error(
                404,
                "NotFound",
                &format!("{method} {path} is not an API of the scripted Lambda"),
            ),
        })
    }

    fn register(&self, request: &Request) -> Reply {
        let registration = match Registration::parse(request) {
            Ok(registration) => registration,
            Err(refusal) => {
                self.journal.push(Entry::Register {
                    name: request
                        .header("lambda-extension-name")
                        .unwrap_or_default()
                        .to_string(),
                    events: Vec::new(),
                    refused: true,
                });
                return refusal;
            }
        };
        let refused = self.managed_instances && registration.wants("INVOKE");
        let mut state = self.lock();
        self.journal.push(Entry::Register {
            name: registration.name.clone(),
            events: registration.events.clone(),
            refused,
        });
        if refused {
            return Reply::error(
                400,
                "InvalidRequest",
                "INVOKE events are not available on Lambda Managed Instances: register for SHUTDOWN only",
            );
        }
        // A process registering again under the same name (a restarted extension) takes the
        // place of the previous one, and carries on from the events it was handed.
        let cursor = match state
            .registered
            .iter()
            .position(|r| r.name == registration.name)
        {
            Some(index) => state.registered.remove(index).cursor,
            None => 0,
        };
        let id = ids::uuid();
        state.registered.push(Registered {
            id: id.clone(),
            name: registration.name.clone(),
            invoke: registration.wants("INVOKE"),
            shutdown: registration.wants("SHUTDOWN"),
            cursor,
        });
        drop(state);
        registration::registered(request, &self.function_name, &self.version, &id)
    }

    /// The name of the extension `request` identifies itself as.
    fn caller(&self, state: &ScriptState, request: &Request) -> Result<usize, Reply> {
        let id = request
            .header("lambda-extension-identifier")
            .unwrap_or_default();
        state
            .registered
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| registration::unknown_extension(id))
    }

    fn next(&self, request: &Request) -> Option<Reply> {
        let mut state = self.lock();
        let index = match self.caller(&state, request) {
            Ok(index) => index,
            Err(refusal) => return Some(refusal),
        };
        let id = state.registered[index].id.clone();
        let name = state.registered[index].name.clone();
        self.journal.push(Entry::Next {
            extension: name.clone(),
        });
        loop {
            if state.closed {
                return None;
            }
            // The extension may have been replaced by a new registration meanwhile.
            let Some(index) = state.registered.iter().position(|r| r.id == id) else {
                return Some(registration::unknown_extension(&id));
            };
            while let Some(event) = state.events.get(state.registered[index].cursor).cloned() {
                state.registered[index].cursor += 1;
                let registered = &state.registered[index];
                let wanted = match event["eventType"].as_str() {
                    Some("INVOKE") => registered.invoke,
                    Some("SHUTDOWN") => registered.shutdown,
                    _ => true,
                };
                if !wanted {
                    continue;
                }
                let delivered = event["requestId"]
                    .as_str()
                    .unwrap_or("SHUTDOWN")
                    .to_string();
                self.journal.push(Entry::Delivered {
                    extension: name,
                    id: delivered,
                    event: event.clone(),
                });
                return Some(
                    Reply::json(200, &event)
                        .with_header("Lambda-Extension-Event-Identifier", &ids::uuid()),
                );
            }
            state = match self.changed.wait_timeout(state, Duration::from_secs(1)) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// `init/error` and `exit/error`: recorded even from an unknown identifier (an extension
    /// refused at registration has none), which is then answered 403 as Lambda does.
    fn error(&self, request: &Request, init: bool) -> Reply {
        let state = self.lock();
        let caller = self.caller(&state, request);
        let extension = caller
            .as_ref()
            .map(|index| state.registered[*index].name.clone())
            .unwrap_or_default();
        drop(state);
        let error_type = registration::error_type(request);
        let body = String::from_utf8_lossy(&request.body).into_owned();
        self.journal.push(if init {
            Entry::InitError {
                extension,
                error_type,
                body,
            }
        } else {
            Entry::ExitError {
                extension,
                error_type,
                body,
            }
        });
        match caller {
            Ok(_) => Reply::accepted(),
            Err(refusal) => refusal,
        }
    }

    fn subscribe(&self, request: &Request) -> Reply {
        let mut state = self.lock();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let (extension, answer) = match self.caller(&state, request) {
            Err(refusal) => (String::new(), Err(refusal)),
            Ok(index) => {
                let name = state.registered[index].name.clone();
                let parsed = subscription::parse(&body)
                    .and_then(|s| {
                        if self.managed_instances && s.schema_version != MANAGED_INSTANCES_SCHEMA {
                            Err(format!(
                                "schemaVersion {:?}: Lambda Managed Instances accept {MANAGED_INSTANCES_SCHEMA} only",
                                s.schema_version
                            ))
                        } else {
                            Ok(s)
                        }
                    })
                    .map_err(|message| Reply::error(400, "ValidationError", &message));
                (name, parsed)
            }
        };
        self.journal.push(Entry::Subscribe {
            extension: extension.clone(),
            body,
            accepted: answer.is_ok(),
        });
        match answer {
            Ok(subscription) => {
                state
                    .destinations
                    .push((extension, subscription.destination));
                Reply::subscribed()
            }
            Err(refusal) => refusal,
        }
    }
}
