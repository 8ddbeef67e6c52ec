//! The Runtime API of the scripted mode, for a function process the test starts itself:
//! invocations are handed out in the order the test queued them, each to whichever `next`
//! caller is waiting, as long as fewer than the maximum concurrency are in flight (one, as on
//! demand; several, as Lambda Managed Instances hand to a runtime's concurrent callers). An
//! invocation is in flight from its delivery until the runtime posts its response or error.
//!
//! Routes (under `/2018-06-01/runtime/`): `GET invocation/next` (a long poll),
//! `POST invocation/{id}/response`, `POST invocation/{id}/error`, `POST init/error`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::invocation::{FunctionError, InvokeResult, InvokeTimings};
use crate::journal::{Entry, Journal};
use crate::reply::Reply;
use crate::request::Request;
use crate::runtime_protocol::{self, Delivery, RuntimeCall};

/// An invocation waiting for a `next` caller.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    /// What `next` answers.
    pub delivery: Delivery,
    /// When the test queued it.
    pub queued_at: Instant,
}

/// An invocation handed out and not answered yet.
#[derive(Debug)]
struct InFlight {
    trace_header: Option<String>,
    queued_at: Instant,
    delivered_at: Instant,
}

#[derive(Debug, Default)]
struct RuntimeState {
    queue: VecDeque<Queued>,
    in_flight: HashMap<String, InFlight>,
    /// Invocations in flight, handed to a waiting `next` caller that has not taken them yet.
    handed: VecDeque<Delivery>,
    /// `next` callers waiting (counted before their `RuntimeNext` entry is recorded).
    waiting: usize,
    /// The most invocations ever in flight at once.
    max_in_flight: usize,
    results: HashMap<String, InvokeResult>,
    closed: bool,
    /// While set, a response or error is recorded at once but answered only when it is
    /// cleared (or after [`HOLD_AT_MOST`]).
    hold_answers: bool,
}

/// The longest a held answer waits.
const HOLD_AT_MOST: Duration = Duration::from_secs(30);

/// The scripted Runtime API's queue, invocations in flight and results.
#[derive(Debug)]
pub(crate) struct ScriptedRuntime {
    max_concurrency: usize,
    state: Mutex<RuntimeState>,
    changed: Condvar,
}

impl ScriptedRuntime {
    /// A runtime side that keeps at most `max_concurrency` invocations in flight (0 counts as
    /// 1).
    pub fn new(max_concurrency: usize) -> Self {
        Self {
            max_concurrency: max_concurrency.max(1),
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RuntimeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues invocations, all at once, for the next free `next` callers.
    pub fn queue(&self, queued: impl IntoIterator<Item = Queued>) {
        self.lock().queue.extend(queued);
        self.changed.notify_all();
    }

    /// The most invocations that were ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    /// While `hold` is true, the runtime's responses and errors are recorded (the result and
    /// the journal entry) but their HTTP answer waits until it is false again, at most 30 s:
    /// what the runtime does while its response is being posted.
    pub fn hold_answers(&self, hold: bool) {
        self.lock().hold_answers = hold;
        self.changed.notify_all();
    }

    /// Ends the long polls.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The result of invocation `id`, once the runtime answered it.
    pub fn result(&self, id: &str) -> Option<InvokeResult> {
        self.lock().results.get(id).cloned()
    }

    /// Handles `/2018-06-01/runtime/<rest>`, recording what the runtime did in `journal`.
    /// The journal is never written with the state locked (its waits read the state).
    pub fn handle(&self, journal: &Journal, request: &Request, rest: &str) -> Option<Reply> {
        match RuntimeCall::parse(&request.method, rest) {
            RuntimeCall::Next => self.next(journal),
            RuntimeCall::Response(id) => Some(self.answer(journal, id, request, None)),
            RuntimeCall::Error(id) => Some(self.answer(
                journal,
                id,
                request,
                Some(runtime_protocol::error_type(request)),
            )),
            RuntimeCall::InitError => {
                journal.push(Entry::RuntimeInitError {
                    error_type: runtime_protocol::init_error_type(request),
                    body: String::from_utf8_lossy(&request.body).into_owned(),
                });
                Some(Reply::accepted())
            }
            RuntimeCall::Unknown => Some(runtime_protocol::not_found(request)),
        }
    }

    /// A `next` call: waits for an invocation. The caller that finds invocations queued hands
    /// one to every caller waiting (within the maximum concurrency) at once, so invocations
    /// queued together are in flight together however the callers' threads are scheduled;
    /// each caller then takes its own.
    fn next(&self, journal: &Journal) -> Option<Reply> {
        // Counted as waiting before its entry is recorded: a test that saw n `next` entries
        // knows that n callers get what it queues next.
        self.lock().waiting += 1;
        journal.push(Entry::RuntimeNext);
        let mut state = self.lock();
        let delivery = loop {
            if state.closed {
                state.waiting = state.waiting.saturating_sub(1);
                return None;
            }
            let mut free = state.waiting.saturating_sub(state.handed.len());
            while free > 0 && state.in_flight.len() < self.max_concurrency {
                let Some(queued) = state.queue.pop_front() else {
                    break;
                };
                let delivery = queued.delivery;
                state.in_flight.insert(
                    delivery.request_id.clone(),
                    InFlight {
                        trace_header: delivery.trace_header.clone(),
                        queued_at: queued.queued_at,
                        delivered_at: Instant::now(),
                    },
                );
                state.handed.push_back(delivery);
                free -= 1;
            }
            state.max_in_flight = state.max_in_flight.max(state.in_flight.len());
            if let Some(delivery) = state.handed.pop_front() {
                if !state.handed.is_empty() {
                    self.changed.notify_all();
                }
                break delivery;
            }
            state = match self.changed.wait_timeout(state, Duration::from_secs(1)) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        };
        state.waiting = state.waiting.saturating_sub(1);
        drop(state);
        journal.push(Entry::RuntimeDelivered {
            id: delivery.request_id.clone(),
        });
        Some(delivery.into_reply())
    }

    /// A response (`error_type` `None`) or an error of invocation `id`: `400
    /// InvalidRequestID` unless it is in flight.
    fn answer(
        &self,
        journal: &Journal,
        id: &str,
        request: &Request,
        error_type: Option<String>,
    ) -> Reply {
        let mut state = self.lock();
        let Some(in_flight) = state.in_flight.remove(id) else {
            return Reply::error(
                400,
                "InvalidRequestID",
                &format!("Invalid request ID: {id:?} is not an invocation in flight"),
            );
        };
        let result = InvokeResult {
            request_id: id.to_string(),
            body: request.body.clone(),
            error: error_type
                .clone()
                .map(|error_type| FunctionError { error_type }),
            trace_header: in_flight.trace_header.unwrap_or_default(),
            timings: InvokeTimings {
                queued: in_flight.queued_at,
                delivered: Some(in_flight.delivered_at),
                completed: Instant::now(),
            },
        };
        state.results.insert(id.to_string(), result);
        drop(state);
        // A caller waiting in `next` may take the next invocation now.
        self.changed.notify_all();
        journal.push(Entry::RuntimeAnswered {
            id: id.to_string(),
            error_type,
            body: String::from_utf8_lossy(&request.body).into_owned(),
        });
        let held_since = Instant::now();
        let mut state = self.lock();
        while state.hold_answers && !state.closed && held_since.elapsed() < HOLD_AT_MOST {
            state = match self.changed.wait_timeout(state, Duration::from_millis(100)) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        Reply::accepted()
    }
}
