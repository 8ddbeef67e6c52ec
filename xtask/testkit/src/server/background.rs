//! One fake's server: hyper HTTP/1.1 on its own thread and current-thread runtime, stopped
//! when dropped.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::{Notify, oneshot};

use super::Listener;

/// A request as a fake's handler gets it: body read in full.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// What the server does with one request.
pub(crate) enum Action {
    /// Sends this response.
    Respond(Response<Full<Bytes>>),
    /// Closes the connection without answering.
    Close,
    /// Never answers.
    Stall,
}

/// A fake's request handler.
pub(crate) type Handler =
    Arc<dyn Fn(Incoming) -> Pin<Box<dyn Future<Output = Action> + Send>> + Send + Sync>;

/// A response with `status`, `headers` and `body`; an unknown status becomes 500.
pub(crate) fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Action {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    Action::Respond(response)
}

/// A running server; dropping it stops it and closes every connection.
#[derive(Debug)]
pub(crate) struct Background {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Serves `handler` on `listener`, from a thread named `name`.
    pub(crate) fn start(name: &str, listener: Listener, handler: Handler) -> io::Result<Self> {
        let listener = listener.into_std()?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = stopped => {}
                        () = accept(listener, handler, counted) => {}
                    }
                });
                // Dropping the runtime here cancels every connection task.
            })?;
        Ok(Self {
            addr,
            connections,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections it accepted.
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: tokio::net::TcpListener, handler: Handler, counted: Arc<AtomicUsize>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        counted.fetch_add(1, Ordering::SeqCst);
        let handler = handler.clone();
        tokio::spawn(async move {
            let close = Arc::new(Notify::new());
            let closing = close.clone();
            let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let handler = handler.clone();
                let close = closing.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let incoming = Incoming {
                        method: parts.method.to_string(),
                        path: parts
                            .uri
                            .path_and_query()
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_else(|| parts.uri.path().to_owned()),
                        headers: parts.headers,
                        body,
                    };
                    match handler(incoming).await {
                        Action::Respond(response) => Ok::<_, std::convert::Infallible>(response),
                        Action::Close => {
                            close.notify_one();
                            std::future::pending().await
                        }
                        Action::Stall => std::future::pending().await,
                    }
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                // Dropping the connection closes the socket with no answer written.
                () = close.notified() => {}
            }
        });
    }
}
