//! A tiny recording HTTP proxy for the moto tests: forwards bytes to the target unchanged and
//! records the head (request line and headers) and body of every request, so tests see what
//! went on the wire.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Listener;
use crate::lock::lock;

/// One request seen by the proxy.
#[derive(Debug, Clone)]
pub struct ProxiedRequest {
    /// `POST / HTTP/1.1`.
    pub request_line: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ProxiedRequest {
    /// The header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The AWS operation: `X-Amz-Target` (JSON protocols), `Action=` (query protocol), or the
    /// request line.
    pub fn operation(&self) -> String {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().unwrap_or(target).to_owned();
        }
        let body = String::from_utf8_lossy(&self.body);
        if let Some(action) = body.split('&').find_map(|p| p.strip_prefix("Action=")) {
            return action.to_owned();
        }
        self.request_line.clone()
    }
}

/// A running proxy, served on the test's tokio runtime (it is only used from async tests).
pub struct RecordingProxy {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<ProxiedRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingProxy {
    /// Starts a proxy on `listener` in front of `target` (`http://host:port`). Call it
    /// inside a tokio runtime.
    pub fn start(listener: impl Into<Listener>, target: &str) -> io::Result<Self> {
        let listener = tokio::net::TcpListener::from_std(listener.into().into_std()?)?;
        let addr = listener.local_addr()?;
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let target = target.clone();
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(&target).await {
                        let _ = relay(client, upstream, recorded).await;
                    }
                });
            }
        });
        Ok(Self {
            addr,
            requests,
            task,
        })
    }

    /// [`RecordingProxy::start`] on a fresh `127.0.0.1:0`.
    pub fn local(target: &str) -> io::Result<Self> {
        Self::start(Listener::local()?, target)
    }

    /// `http://ADDR`, the endpoint to give the SDK.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request recorded so far.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        lock(&self.requests).clone()
    }

    /// The requests of one operation.
    pub fn requests_of(&self, operation: &str) -> Vec<ProxiedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.operation() == operation)
            .collect()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    client: TcpStream,
    upstream: TcpStream,
    recorded: Arc<Mutex<Vec<ProxiedRequest>>>,
) -> io::Result<()> {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    });
    let mut buffer: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = client_read.read(&mut chunk).await?;
        let Some(read) = chunk.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        upstream_write.write_all(read).await?;
        buffer.extend_from_slice(read);
        // Every complete request in the buffer (keep-alive: several per connection).
        while let Some(request) = take_request(&mut buffer) {
            lock(&recorded).push(request);
        }
    }
    let _ = upstream_write.shutdown().await;
    let _ = back.await;
    Ok(())
}

/// Takes the first complete request (head and `Content-Length` body) off `buffer`.
fn take_request(buffer: &mut Vec<u8>) -> Option<ProxiedRequest> {
    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(buffer.get(..end)?).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body = buffer.get(end + 4..end + 4 + length)?.to_vec();
    buffer.drain(..end + 4 + length);
    Some(ProxiedRequest {
        request_line,
        headers,
        body,
    })
}
