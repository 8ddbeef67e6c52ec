//! A generic recording HTTP endpoint, scripted like the OTLP receiver: a stand-in for any
//! API a test only needs to record and answer (e.g. the Lambda Invoke API).

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::lock::lock;
use crate::server::{Action, Background, Handler, Listener, Reply, Script, respond};
use crate::wait::{Timeout, wait_until};
use crate::{Recorded, Sequence};

#[derive(Default)]
struct State {
    script: Script,
    recorded: Vec<Recorded>,
}

/// A recording HTTP endpoint. Every request is recorded ([`FakeHttp::requests`]) and
/// answered with the next scripted [`Reply`] (default [`Reply::Accept`]: 200, empty body).
pub struct FakeHttp {
    server: Background,
    state: Arc<Mutex<State>>,
}

impl FakeHttp {
    /// Serves on `listener`, numbering requests from `sequence`.
    pub fn start(listener: impl Into<Listener>, sequence: Sequence) -> io::Result<Self> {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let handler: Handler = Arc::new(move |incoming| {
            let reply = lock(&shared).script.next();
            let status = reply.status_code();
            lock(&shared).recorded.push(Recorded {
                seq: sequence.tick(),
                at: Instant::now(),
                wall: SystemTime::now(),
                method: incoming.method,
                path: incoming.path,
                headers: incoming.headers,
                body: incoming.body,
                status,
            });
            Box::pin(async move {
                match reply {
                    Reply::Accept | Reply::PartialSuccess { .. } => respond(200, &[], ""),
                    Reply::Status {
                        status,
                        headers,
                        body,
                    } => {
                        let headers: Vec<(&str, &str)> = headers
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        respond(status, &headers, body)
                    }
                    Reply::Close => Action::Close,
                    Reply::Stall => Action::Stall,
                }
            })
        });
        Ok(Self {
            server: Background::start("fake-http", listener.into(), handler)?,
            state,
        })
    }

    /// Serves on a fresh `127.0.0.1:0` listener with its own sequence.
    pub fn local() -> io::Result<Self> {
        Self::start(Listener::local()?, Sequence::new())
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Answers the next requests with `replies`, in order, then the default again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.state).script.extend(replies);
    }

    /// The answer once the script is used up.
    pub fn set_default(&self, reply: Reply) {
        lock(&self.state).script.set_default(reply);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).recorded.clone()
    }

    /// Waits (at most `bound`) until `n` requests arrived; returns them.
    pub fn wait_requests(&self, n: usize, bound: Duration) -> Result<Vec<Recorded>, Timeout> {
        wait_until(&format!("{n} requests"), bound, || {
            let all = self.requests();
            (all.len() >= n).then_some(all)
        })
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }
}
