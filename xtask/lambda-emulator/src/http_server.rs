//! The HTTP side of every API of the emulator, on tiny_http: one thread receives the requests,
//! and each request is answered on a thread of its own ([`Workers`]: an idle one, reused, or a
//! new one when all are busy), so that the long polls of the Runtime
//! and Extensions APIs (`next`, which Lambda holds open until there is work) block only their
//! own thread. tiny_http keeps connections alive (`lambda_runtime` keeps its connection to the
//! Runtime API open between invocations) and handles chunked bodies and `Expect:
//! 100-continue`; it writes the answers of one connection in request order, whichever thread
//! answers.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow};

use crate::reply::Reply;
use crate::request::Request;
use crate::workers::Workers;

/// The handler of every request: `None` leaves it unanswered (see [`Reply`]).
pub(crate) type Handler = dyn Fn(&Request) -> Option<Reply> + Send + Sync;

/// A running server; dropping it stops taking requests (connections already open are left to
/// their peers).
pub(crate) struct HttpServer {
    server: Arc<tiny_http::Server>,
    stopped: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl HttpServer {
    /// Serves `listener` with `handler`.
    pub fn start(listener: TcpListener, handler: Arc<Handler>) -> Result<Self> {
        let addr = listener.local_addr()?;
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None)
                .map_err(|err| anyhow!("serving {addr}: {err}"))?,
        );
        let stopped = Arc::new(AtomicBool::new(false));
        let (receiver, stop) = (server.clone(), stopped.clone());
        std::thread::spawn(move || {
            let workers = Workers::new();
            loop {
                let mut request = match receiver.recv() {
                    Ok(request) => request,
                    Err(_) if stop.load(Ordering::SeqCst) => return,
                    Err(_) => continue,
                };
                let handler = handler.clone();
                workers.run(Box::new(move || {
                    let reply = match Request::read(&mut request) {
                        Ok(parsed) => handler(&parsed),
                        Err(refusal) => Some(refusal),
                    };
                    if let Some(reply) = reply {
                        let _ = request.respond(reply.into_response());
                    }
                }));
            }
        });
        Ok(Self {
            server,
            stopped,
            addr,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops taking requests (also done on drop).
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            self.server.unblock();
        }
    }
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.addr)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
