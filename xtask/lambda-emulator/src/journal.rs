//! The scripted mode's record of what the extension and the function did, in order: every
//! entry gets the next
//! number of a [`Sequence`] that a test may share with its other fakes (an OTLP upstream, for
//! one), so that "the export came before the next `next`" is a comparison of two numbers.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long the blocking waits of the scripted mode wait before they panic: only a bound
/// against hangs, never a threshold a test relies on.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The shared, increasing sequence number (starting at 1) of the test kit: clones share the
/// counter; hand the same one to every fake of a test (the OTLP receiver of `faas-testkit`
/// takes it as it is).
pub use faas_testkit::Sequence;

/// One thing the extension or the function's runtime did, or that was done to it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Entry {
    /// `POST /2020-01-01/extension/register`.
    Register {
        /// `Lambda-Extension-Name`.
        name: String,
        /// The events it asked for.
        events: Vec<String>,
        /// Whether it was refused (INVOKE asked for on Lambda Managed Instances, or a
        /// malformed registration).
        refused: bool,
    },
    /// `GET /2020-01-01/extension/event/next` arrived: the extension is done with the previous
    /// event.
    Next {
        /// The extension's name.
        extension: String,
    },
    /// An event was handed out by `next`.
    Delivered {
        /// The extension's name.
        extension: String,
        /// The INVOKE's request id, or `SHUTDOWN`.
        id: String,
        /// The event as sent.
        event: Value,
    },
    /// `PUT /2022-07-01/telemetry` (or the Logs API's `PUT /2020-08-15/logs`).
    Subscribe {
        /// The extension's name.
        extension: String,
        /// The body as sent (`Value::Null` when it was not JSON).
        body: Value,
        /// Whether the subscription was accepted.
        accepted: bool,
    },
    /// `POST /2020-01-01/extension/init/error`.
    InitError {
        /// The extension's name.
        extension: String,
        /// `Lambda-Extension-Function-Error-Type`.
        error_type: String,
        /// The body as sent.
        body: String,
    },
    /// `POST /2020-01-01/extension/exit/error`.
    ExitError {
        /// The extension's name.
        extension: String,
        /// `Lambda-Extension-Function-Error-Type`.
        error_type: String,
        /// The body as sent.
        body: String,
    },
    /// The test posted a Telemetry API batch to the subscribed destination.
    TelemetryPosted {
        /// The status the extension answered (`None`: no answer).
        status: Option<u16>,
    },
    /// `GET /2018-06-01/runtime/invocation/next` arrived: one of the runtime's callers is done
    /// with its previous invocation (its flush, if any, is over).
    RuntimeNext,
    /// An invocation was handed to the runtime by `next`.
    RuntimeDelivered {
        /// `Lambda-Runtime-Aws-Request-Id`.
        id: String,
    },
    /// `POST /2018-06-01/runtime/invocation/{id}/response` or `.../error` of an invocation in
    /// flight.
    RuntimeAnswered {
        /// The request id.
        id: String,
        /// `None` for a response; the error type for an error (`Lambda-Runtime-Function-Error-Type`,
        /// else the body's `errorType`, else `Unhandled`).
        error_type: Option<String>,
        /// The body as sent (lossy UTF-8).
        body: String,
    },
    /// `POST /2018-06-01/runtime/init/error`.
    RuntimeInitError {
        /// `Lambda-Runtime-Function-Error-Type` (`Runtime.Unknown` when missing).
        error_type: String,
        /// The body as sent.
        body: String,
    },
}

impl Entry {
    /// Whether this is a [`Entry::Next`].
    pub fn is_next(&self) -> bool {
        matches!(self, Self::Next { .. })
    }

    /// Whether this is the delivery of the event with `id` (a request id or `SHUTDOWN`) to an
    /// extension.
    pub fn is_delivery_of(&self, id: &str) -> bool {
        matches!(self, Self::Delivered { id: delivered, .. } if delivered == id)
    }

    /// Whether this is a [`Entry::RuntimeNext`].
    pub fn is_runtime_next(&self) -> bool {
        matches!(self, Self::RuntimeNext)
    }

    /// Whether this is the runtime's answer (response or error) to invocation `id`.
    pub fn is_answer_to(&self, id: &str) -> bool {
        matches!(self, Self::RuntimeAnswered { id: answered, .. } if answered == id)
    }
}

/// An [`Entry`] with its place in the sequence and its time.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// Its number in the shared [`Sequence`].
    pub seq: u64,
    /// When it was recorded.
    pub at: Instant,
    /// What happened.
    pub entry: Entry,
}

/// The ordered record, with a condition variable for the waits.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    sequence: Sequence,
    entries: Mutex<Vec<Logged>>,
    changed: Condvar,
}

impl Journal {
    /// An empty journal numbering its entries with `sequence`.
    pub fn new(sequence: Sequence) -> Self {
        Self {
            sequence,
            ..Self::default()
        }
    }

    /// The sequence.
    pub fn sequence(&self) -> &Sequence {
        &self.sequence
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Logged>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `entry`; returns its number.
    pub fn push(&self, entry: Entry) -> u64 {
        let mut entries = self.lock();
        let seq = self.sequence.tick();
        entries.push(Logged {
            seq,
            at: Instant::now(),
            entry,
        });
        self.changed.notify_all();
        seq
    }

    /// A copy of every entry so far.
    pub fn entries(&self) -> Vec<Logged> {
        self.lock().clone()
    }

    /// Wakes every waiter (the state they wait on changed elsewhere).
    pub fn notify(&self) {
        let _guard = self.lock();
        self.changed.notify_all();
    }

    /// Waits until `check` gives a value for the entries, at most [`PATIENCE`]; panics naming
    /// `what` (and listing the entries) otherwise.
    pub fn wait_for<T>(&self, what: &str, check: impl Fn(&[Logged]) -> Option<T>) -> T {
        let until = Instant::now() + PATIENCE;
        let mut entries = self.lock();
        loop {
            if let Some(value) = check(&entries) {
                return value;
            }
            let now = Instant::now();
            if now >= until {
                let seen: Vec<&Entry> = entries.iter().map(|l| &l.entry).collect();
                panic!(
                    "timed out after {} s waiting for {what}; seen: {seen:?}",
                    PATIENCE.as_secs()
                );
            }
            entries = match self.changed.wait_timeout(entries, until - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}
