//! What every scripted fake has: a running server and its script of replies.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::{Background, Handler, Listener, Reply, Script};
use crate::lock::lock;

/// A running scripted fake: where it listens, the replies it will give, how many
/// connections it accepted. [`crate::FakeHttp`] and the OTLP receiver dereference to it;
/// dropping it stops the server.
#[derive(Debug)]
pub struct Endpoint {
    server: Background,
    script: Arc<Mutex<Script>>,
}

impl Endpoint {
    /// Serves `handler` on `listener` from a thread named `name`; `handler` takes its
    /// replies from `script`.
    pub(crate) fn start(
        name: &str,
        listener: Listener,
        script: Arc<Mutex<Script>>,
        handler: Handler,
    ) -> io::Result<Self> {
        Ok(Self {
            server: Background::start(name, listener, handler)?,
            script,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://ADDR` (for the OTLP receiver: `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Answers the next requests with `replies`, in order, then the default again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.script).extend(replies);
    }

    /// The answer once the script is used up.
    pub fn set_default(&self, reply: Reply) {
        lock(&self.script).set_default(reply);
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }
}
