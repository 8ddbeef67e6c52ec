//! A Lambda Runtime API emulator for the tests, written from the documented protocol
//! (`GET /2018-06-01/runtime/invocation/next`, `POST .../{id}/response`, `.../{id}/error`,
//! `POST .../init/error`), with the real headers: request id, deadline, invoked function ARN,
//! trace id and client context. It records when the function comes back to `/next`, so tests
//! can measure what the flush added after the response.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

pub const ACCOUNT: &str = "123456789012";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:orders";

/// One invocation to deliver.
#[derive(Debug, Clone, Default)]
pub struct Invoke {
    pub body: String,
    pub trace_id: Option<String>,
    pub client_context: Option<String>,
    pub arn: Option<String>,
    /// Milliseconds after the epoch; default: 30 s from now.
    pub deadline_ms: Option<u64>,
}

/// What the function answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    pub kind: &'static str,
    pub body: String,
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

pub struct RuntimeApi {
    pub addr: SocketAddr,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl RuntimeApi {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    tokio::spawn(serve(stream, shared.clone()));
                }
            });
        });
        Self { addr, state }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an invocation and waits (up to 20 s) for its answer.
    pub fn invoke(&self, invoke: Invoke) -> Answer {
        let id = self.enqueue(invoke);
        self.wait_answer(&id)
    }

    pub fn enqueue(&self, invoke: Invoke) -> String {
        let (lock, cv) = &*self.state;
        let mut state = lock.lock().unwrap();
        state.counter += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", state.counter);
        state.queue.push_back((id.clone(), invoke));
        cv.notify_all();
        id
    }

    pub fn wait_answer(&self, id: &str) -> Answer {
        let (lock, cv) = &*self.state;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut state = lock.lock().unwrap();
        loop {
            if let Some(answer) = state.answers.get(id) {
                return answer.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no answer for {id}");
            state = cv.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Waits until the function has called `/next` at least `n` times.
    pub fn wait_next_calls(&self, n: usize) -> Vec<Instant> {
        let (lock, cv) = &*self.state;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut state = lock.lock().unwrap();
        loop {
            if state.next_calls.len() >= n {
                return state.next_calls.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "function did not come back to /next");
            state = cv.wait_timeout(state, left).unwrap().0;
        }
    }

    pub fn init_errors(&self) -> Vec<String> {
        self.state.0.lock().unwrap().init_errors.clone()
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(String, String)],
    body: &str,
) -> bool {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    stream.write_all(out.as_bytes()).await.is_ok()
}

async fn next_invocation(state: &Arc<(Mutex<State>, Condvar)>) -> (String, Invoke) {
    loop {
        {
            let (lock, cv) = &**state;
            let mut s = lock.lock().unwrap();
            if let Some(item) = s.queue.pop_front() {
                cv.notify_all();
                return item;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn serve(mut stream: TcpStream, state: Arc<(Mutex<State>, Condvar)>) {
    while let Some((method, path, body)) = crate::collector::read_request(&mut stream).await {
        let body = String::from_utf8_lossy(&body).to_string();
        let prefix = "/2018-06-01/runtime/";
        let Some(rest) = path.strip_prefix(prefix) else {
            respond(&mut stream, "404 Not Found", &[], "").await;
            continue;
        };
        if method == "GET" && rest == "invocation/next" {
            {
                let (lock, cv) = &*state;
                lock.lock().unwrap().next_calls.push(Instant::now());
                cv.notify_all();
            }
            let (id, invoke) = next_invocation(&state).await;
            let deadline = invoke.deadline_ms.unwrap_or_else(|| {
                (SystemTime::now() + Duration::from_secs(30))
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64
            });
            let mut headers = vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("lambda-runtime-aws-request-id".to_owned(), id.clone()),
                (
                    "lambda-runtime-deadline-ms".to_owned(),
                    deadline.to_string(),
                ),
                (
                    "lambda-runtime-invoked-function-arn".to_owned(),
                    invoke
                        .arn
                        .clone()
                        .unwrap_or_else(|| FUNCTION_ARN.to_owned()),
                ),
            ];
            if let Some(trace) = &invoke.trace_id {
                headers.push(("lambda-runtime-trace-id".to_owned(), trace.clone()));
            }
            if let Some(cc) = &invoke.client_context {
                headers.push(("lambda-runtime-client-context".to_owned(), cc.clone()));
            }
            if !respond(&mut stream, "200 OK", &headers, &invoke.body).await {
                return;
            }
        } else if method == "POST" && rest == "init/error" {
            state.0.lock().unwrap().init_errors.push(body);
            respond(&mut stream, "202 Accepted", &[], "{}").await;
        } else if method == "POST"
            && let Some(tail) = rest.strip_prefix("invocation/")
            && let Some((id, kind)) = tail.split_once('/')
        {
            let kind = if kind == "response" {
                "response"
            } else {
                "error"
            };
            {
                let (lock, cv) = &*state;
                lock.lock().unwrap().answers.insert(
                    id.to_owned(),
                    Answer {
                        request_id: id.to_owned(),
                        kind,
                        body,
                        at: Instant::now(),
                    },
                );
                cv.notify_all();
            }
            respond(&mut stream, "202 Accepted", &[], "{}").await;
        } else {
            respond(&mut stream, "404 Not Found", &[], "").await;
        }
    }
}
