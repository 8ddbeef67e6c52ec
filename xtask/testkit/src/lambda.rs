//! A Lambda Runtime API fake, written from the documented protocol
//! (`GET /2018-06-01/runtime/invocation/next`, `POST .../invocation/{id}/response`,
//! `.../invocation/{id}/error`, `POST .../init/error`), with the real headers: request id,
//! deadline, invoked function ARN, trace id and client context. It records when the function
//! comes back to `/next`, so tests can measure what the flush added after the response.
//!
//! Kept minimal on purpose, for the example functions' tests: the workspace's full Lambda
//! emulator (Runtime, Extensions, Telemetry and Invoke APIs) is the `lambda-emulator` crate.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::lock::lock;
use crate::server::{Background, Handler, Listener, respond};
use crate::wait::{PATIENCE, Timeout};

/// The account of [`FUNCTION_ARN`].
pub const ACCOUNT: &str = "123456789012";
/// The invoked function ARN sent unless an [`Invoke`] names another.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:orders";

/// One invocation to deliver.
#[derive(Debug, Clone, Default)]
pub struct Invoke {
    /// The event.
    pub body: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Invoked-Function-Arn` (default [`FUNCTION_ARN`]).
    pub arn: Option<String>,
    /// `Lambda-Runtime-Deadline-Ms`, milliseconds after the epoch; default: 30 s from now.
    pub deadline_ms: Option<u64>,
}

/// What the function answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The invocation's request id.
    pub request_id: String,
    /// `"response"` or `"error"`.
    pub kind: &'static str,
    /// The body posted.
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Invoke)>,
    answers: HashMap<String, Answer>,
    next_calls: Vec<Instant>,
    init_errors: Vec<String>,
    counter: u64,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

/// The Runtime API fake; dropping it stops it.
pub struct RuntimeApi {
    server: Background,
    state: Shared,
}

fn deadline(invoke: &Invoke) -> u64 {
    invoke.deadline_ms.unwrap_or_else(|| {
        (SystemTime::now() + Duration::from_secs(30))
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    })
}

async fn next_invocation(state: &Shared) -> (String, Invoke) {
    loop {
        {
            let (lock_, cv) = &**state;
            if let Some(item) = lock(lock_).queue.pop_front() {
                cv.notify_all();
                return item;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn handler(state: Shared) -> Handler {
    Arc::new(move |incoming| {
        let state = state.clone();
        Box::pin(async move {
            let body = String::from_utf8_lossy(&incoming.body).into_owned();
            let Some(rest) = incoming.path.strip_prefix("/2018-06-01/runtime/") else {
                return respond(404, &[], "");
            };
            let (lock_, cv) = &*state;
            if incoming.method == "GET" && rest == "invocation/next" {
                lock(lock_).next_calls.push(Instant::now());
                cv.notify_all();
                let (id, invoke) = next_invocation(&state).await;
                let deadline = deadline(&invoke).to_string();
                let arn = invoke
                    .arn
                    .clone()
                    .unwrap_or_else(|| FUNCTION_ARN.to_owned());
                let mut headers = vec![
                    ("content-type", "application/json"),
                    ("lambda-runtime-aws-request-id", id.as_str()),
                    ("lambda-runtime-deadline-ms", deadline.as_str()),
                    ("lambda-runtime-invoked-function-arn", arn.as_str()),
                ];
                if let Some(trace) = &invoke.trace_id {
                    headers.push(("lambda-runtime-trace-id", trace));
                }
                if let Some(cc) = &invoke.client_context {
                    headers.push(("lambda-runtime-client-context", cc));
                }
                respond(200, &headers, invoke.body.clone())
            } else if incoming.method == "POST" && rest == "init/error" {
                lock(lock_).init_errors.push(body);
                cv.notify_all();
                respond(202, &[], "{}")
            } else if incoming.method == "POST"
                && let Some(tail) = rest.strip_prefix("invocation/")
                && let Some((id, kind)) = tail.split_once('/')
            {
                let kind = if kind == "response" {
                    "response"
                } else {
                    "error"
                };
                lock(lock_).answers.insert(
                    id.to_owned(),
                    Answer {
                        request_id: id.to_owned(),
                        kind,
                        body,
                        at: Instant::now(),
                    },
                );
                cv.notify_all();
                respond(202, &[], "{}")
            } else {
                respond(404, &[], "")
            }
        })
    })
}

impl RuntimeApi {
    /// Serves on `listener`.
    pub fn start(listener: impl Into<Listener>) -> io::Result<Self> {
        let state: Shared = Arc::default();
        Ok(Self {
            server: Background::start("runtime-api", listener.into(), handler(state.clone()))?,
            state,
        })
    }

    /// [`RuntimeApi::start`] on a fresh `127.0.0.1:0`.
    pub fn local() -> io::Result<Self> {
        Self::start(Listener::local()?)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr().to_string()
    }

    /// Queues an invocation and waits (at most [`PATIENCE`]) for its answer.
    pub fn invoke(&self, invoke: Invoke) -> Result<Answer, Timeout> {
        let id = self.enqueue(invoke);
        self.wait_answer(&id)
    }

    /// Queues an invocation; its request id.
    pub fn enqueue(&self, invoke: Invoke) -> String {
        let (lock_, cv) = &*self.state;
        let mut state = lock(lock_);
        state.counter += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", state.counter);
        state.queue.push_back((id.clone(), invoke));
        cv.notify_all();
        id
    }

    fn wait<T>(&self, what: &str, check: impl Fn(&State) -> Option<T>) -> Result<T, Timeout> {
        let (lock_, cv) = &*self.state;
        let until = Instant::now() + PATIENCE;
        let mut state = lock(lock_);
        loop {
            if let Some(value) = check(&state) {
                return Ok(value);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Timeout {
                    what: what.to_owned(),
                    after: PATIENCE,
                });
            }
            state = cv
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Waits (at most [`PATIENCE`]) for the answer to invocation `id`.
    pub fn wait_answer(&self, id: &str) -> Result<Answer, Timeout> {
        self.wait(&format!("the answer to {id}"), |s| {
            s.answers.get(id).cloned()
        })
    }

    /// Waits (at most [`PATIENCE`]) until the function called `/next` at least `n` times;
    /// when each call arrived.
    pub fn wait_next_calls(&self, n: usize) -> Result<Vec<Instant>, Timeout> {
        self.wait(&format!("{n} calls to /next"), |s| {
            (s.next_calls.len() >= n).then(|| s.next_calls.clone())
        })
    }

    /// The bodies of `POST /runtime/init/error`.
    pub fn init_errors(&self) -> Vec<String> {
        lock(&self.state.0).init_errors.clone()
    }
}
