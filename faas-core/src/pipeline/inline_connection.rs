//! A plain-HTTP/1 connection to the collector, driven by the task that exports.
//!
//! A pooled client (hyper-util's) runs each connection in a task of its own. On tokio's
//! multi-thread runtime, where `#[tokio::main]` runs the function on the main thread, every
//! export then hands the request to another thread and the answer back: two wake-ups of
//! another thread per export, on the invocation's path. `strace` of the bench function counted
//! 2.5 more eventfd writes and 3.1 more futex wakes per invocation than the bare function, and
//! on a Firecracker VM waking an idle vCPU costs tens of microseconds. Here the exporting task
//! polls the connection itself while it waits for the answer; between exports nobody polls it.
//!
//! What the pool did is kept:
//! - **Keep-alive, checked before use.** The connection is kept for the next export. Before it
//!   is used it is polled once: a collector that closed it (its idle timeout, a restart) is
//!   seen then, and a new connection is made. One idle longer than the pool's idle timeout is
//!   not used (a frozen environment outlives keep-alives).
//! - **A request that never left is sent again.** When the kept connection turns out closed
//!   before the request was written (hyper gives it back), it goes once more on a new
//!   connection: a collector's idle close costs no export and no back-off.
//! - The request goes in origin form with a `Host` header, as the pool sends it; no redirect is
//!   followed; the answer's body is read up to the caller's limit, and a connection whose
//!   answer was not read to its end is not kept.

use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use opentelemetry_http::{HttpError, Request, Response};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::capped_answer::read_capped;
use super::export_body::ExportBody;

type Io = TokioIo<TcpStream>;

/// One kept connection.
struct Open<B: ExportBody> {
    sender: SendRequest<B>,
    connection: Connection<Io, B>,
    /// When its last answer was read.
    used: Instant,
}

/// The collector connection of one exporter (exports are one at a time: the drain holds its
/// exporter while it exports).
pub(crate) struct InlineConnection<B: ExportBody> {
    kept: tokio::sync::Mutex<Option<Open<B>>>,
    idle_timeout: Duration,
}

impl<B: ExportBody> InlineConnection<B> {
    /// No connection yet: the first export makes it. A connection idle longer than
    /// `idle_timeout` is not used again.
    pub(crate) fn new(idle_timeout: Duration) -> Self {
        Self {
            kept: tokio::sync::Mutex::new(None),
            idle_timeout,
        }
    }

    /// Sends `request` (an absolute `http://` URI) and reads at most `max_body` bytes of the
    /// answer's body. The caller bounds the time.
    pub(crate) async fn exchange(
        &self,
        request: Request<B>,
        max_body: usize,
    ) -> Result<Response<Bytes>, HttpError> {
        let mut kept = self.kept.lock().await;
        let (authority, mut request) = origin_form(request)?;
        let mut reuse = kept.take().and_then(|open| self.usable(open));
        loop {
            let reused = reuse.is_some();
            let mut open = match reuse.take() {
                Some(open) => open,
                None => connect(&authority).await?,
            };
            match send(&mut open, request, max_body).await {
                Exchange::Answered(answer, reusable) => {
                    if reusable {
                        open.used = Instant::now();
                        *kept = Some(open);
                    }
                    return Ok(answer);
                }
                Exchange::Failed(error) => return Err(error),
                // The kept connection closed before our request left: once more, on a new one.
                Exchange::Unsent(back) if reused => request = back,
                Exchange::Unsent(_) => {
                    return Err("the collector closed a new connection at once".into());
                }
            }
        }
    }

    /// `open` if it can take a request: not idle too long, and still open when polled once
    /// (which reads a close the collector sent while nobody polled).
    fn usable(&self, mut open: Open<B>) -> Option<Open<B>> {
        // A closed sender is never ready.
        let usable = open.used.elapsed() <= self.idle_timeout
            && (&mut open.connection).now_or_never().is_none()
            && open.sender.is_ready();
        usable.then_some(open)
    }
}

/// How one attempt ended.
enum Exchange<B> {
    /// The answer, and whether the connection can take the next request.
    Answered(Response<Bytes>, bool),
    /// The connection was closed before the request was written; here it is back.
    Unsent(Request<B>),
    /// No answer (the request may have reached the collector).
    Failed(HttpError),
}

/// Sends `request` on `open`, polling its connection until the answer's body is read.
async fn send<B: ExportBody>(
    open: &mut Open<B>,
    request: Request<B>,
    max_body: usize,
) -> Exchange<B> {
    let Open {
        sender, connection, ..
    } = open;
    let (result, hung_up) = {
        let mut exchange = std::pin::pin!(async {
            match sender.try_send_request(request).await {
                Ok(response) => read_capped(response, max_body).await.map_err(Err),
                Err(mut refused) => Err(refused.take_message().ok_or(refused.into_error())),
            }
        });
        tokio::select! {
            biased;
            result = &mut exchange => (result, false),
            // The connection ended (an answer with `Connection: close`, or a hang-up): what it
            // delivered before is still there to read.
            _ = &mut *connection => (exchange.await, true),
        }
    };
    match result {
        Ok((answer, complete)) => {
            Exchange::Answered(answer, complete && !hung_up && !sender.is_closed())
        }
        Err(Ok(request)) => Exchange::Unsent(request),
        Err(Err(error)) => Exchange::Failed(Box::new(error)),
    }
}

/// A new connection to `authority` (`host:port`), with Nagle off.
async fn connect<B: ExportBody>(authority: &str) -> Result<Open<B>, HttpError> {
    let stream = TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await?;
    Ok(Open {
        sender,
        connection,
        used: Instant::now(),
    })
}

/// The `host:port` to connect to, and `request` in origin form (`/v1/traces`) with a `Host`
/// header, as an HTTP/1 client sends it.
fn origin_form<B>(mut request: Request<B>) -> Result<(String, Request<B>), HttpError> {
    let uri = request.uri().clone();
    if uri.scheme_str() != Some("http") {
        return Err(format!("not a plain-HTTP URL: {uri}").into());
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("no host in {uri}"))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    // `host()` keeps an IPv6 address in brackets, which is also how `connect` wants it.
    let address = format!("{}:{port}", authority.host());
    if !request.headers().contains_key(hyper::header::HOST) {
        let host = hyper::header::HeaderValue::from_str(authority.as_str())?;
        request.headers_mut().insert(hyper::header::HOST, host);
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).parse()?;
    *request.uri_mut() = path;
    Ok((address, request))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_in_origin_form_with_a_host() {
        let request = Request::builder()
            .uri("http://127.0.0.1:4318/v1/traces?x=1")
            .body(())
            .unwrap();
        let (address, request) = origin_form(request).unwrap();
        assert_eq!(address, "127.0.0.1:4318");
        assert_eq!(request.uri(), "/v1/traces?x=1");
        assert_eq!(request.headers()["host"], "127.0.0.1:4318");

        let request = Request::builder()
            .uri("http://[::1]/v1/logs")
            .header("host", "collector")
            .body(())
            .unwrap();
        let (address, request) = origin_form(request).unwrap();
        assert_eq!(address, "[::1]:80");
        assert_eq!(request.uri(), "/v1/logs");
        assert_eq!(request.headers()["host"], "collector");

        for bad in ["https://collector/v1/traces", "/v1/traces"] {
            let request = Request::builder().uri(bad).body(()).unwrap();
            assert!(origin_form(request).is_err(), "{bad}");
        }
    }
}
