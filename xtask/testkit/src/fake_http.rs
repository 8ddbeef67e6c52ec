//! A generic recording HTTP endpoint, scripted like the OTLP receiver: a stand-in for any
//! API a test only needs to record and answer (e.g. the Lambda Invoke API).

use std::io;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::lock::lock;
use crate::server::{Endpoint, Handler, Listener, Script, answer, respond};
use crate::wait::{Timeout, wait_until};
use crate::{Recorded, Sequence};

/// A recording HTTP endpoint. Every request is recorded ([`FakeHttp::requests`]) and
/// answered with the next scripted [`crate::Reply`] (default [`crate::Reply::Accept`]: 200,
/// empty body). Where it listens and its script are the [`Endpoint`]'s it dereferences to.
pub struct FakeHttp {
    endpoint: Endpoint,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeHttp {
    /// Serves on `listener`, numbering requests from `sequence`.
    pub fn start(listener: impl Into<Listener>, sequence: Sequence) -> io::Result<Self> {
        let script = Arc::new(Mutex::new(Script::default()));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let (replies, log) = (script.clone(), recorded.clone());
        let handler: Handler = Arc::new(move |incoming| {
            let reply = lock(&replies).next();
            let seq = sequence.tick();
            lock(&log).push(Recorded::arrived(seq, incoming, reply.status_code()));
            let action = answer(&reply, |_| respond(200, &[], ""));
            Box::pin(async move { action })
        });
        Ok(Self {
            endpoint: Endpoint::start("fake-http", listener.into(), script, handler)?,
            recorded,
        })
    }

    /// Serves on a fresh `127.0.0.1:0` listener with its own sequence.
    pub fn local() -> io::Result<Self> {
        Self::start(Listener::local()?, Sequence::new())
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.recorded).clone()
    }

    /// Waits (at most `bound`) until `n` requests arrived; returns them.
    pub fn wait_requests(&self, n: usize, bound: Duration) -> Result<Vec<Recorded>, Timeout> {
        wait_until(&format!("{n} requests"), bound, || {
            let all = self.requests();
            (all.len() >= n).then_some(all)
        })
    }
}

impl Deref for FakeHttp {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}
