//! The demo's OTLP/HTTP receiver: the upstream the extension forwards to.
//!
//! A small HTTP/1.1 server on `127.0.0.1:0` (tiny_http) that answers `200 {}` to every
//! `POST /v1/traces`, `/v1/metrics` and `/v1/logs` and keeps the bodies. The demo asks the
//! extension for OTLP/JSON without compression, so the bodies are the documents the waterfall
//! reads and the file the demo writes. Keep-alive connections are served until the peer
//! closes them.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{Context, Result, anyhow};

/// One received export request.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path (`/v1/traces`, …).
    pub path: String,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body as sent.
    pub body: Vec<u8>,
}

/// A running receiver; it stops with the process (the demo is short-lived).
#[derive(Debug, Clone)]
pub struct OtlpSink {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl OtlpSink {
    /// Binds `127.0.0.1:0` and serves in background threads.
    pub fn start() -> Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("binding the demo's OTLP receiver on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let server = tiny_http::Server::from_listener(listener, None)
            .map_err(|err| anyhow!("serving the demo's OTLP receiver: {err}"))?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        thread::spawn(move || {
            for request in server.incoming_requests() {
                keep(request, &store);
            }
        });
        Ok(Self { addr, received })
    }

    /// The base URL (`http://127.0.0.1:PORT`) for `*_ENDPOINT` variables.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Keeps `request` in `store` and answers `200 {}`.
fn keep(mut request: tiny_http::Request, store: &Mutex<Vec<Received>>) {
    let mut body = Vec::new();
    if request.as_reader().read_to_end(&mut body).is_err() {
        return;
    }
    let content_type = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("content-type"))
        .map(|h| h.value.as_str().to_owned())
        .unwrap_or_default();
    let path = request
        .url()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    if let Ok(mut all) = store.lock() {
        all.push(Received {
            path,
            content_type,
            body,
        });
    }
    let mut response = tiny_http::Response::from_data(b"{}".to_vec());
    if let Ok(header) = tiny_http::Header::from_bytes("content-type", "application/json") {
        response.add_header(header);
    }
    let _ = request.respond(response);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn keeps_every_body_of_a_keep_alive_connection() {
        let sink = OtlpSink::start().unwrap();
        let mut stream = TcpStream::connect(sink.addr).unwrap();
        for body in ["{\"a\":1}", "{\"b\":2}"] {
            write!(
                stream,
                "POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut answer = Vec::new();
            let mut byte = [0u8; 1];
            while !answer.ends_with(b"\r\n\r\n{}") {
                assert_eq!(stream.read(&mut byte).unwrap(), 1);
                answer.push(byte[0]);
            }
            assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
        }
        let received = sink.received();
        assert_eq!(received.len(), 2);
        assert_eq!(received[1].body, b"{\"b\":2}");
        assert_eq!(received[0].path, "/v1/traces");
        assert_eq!(received[0].content_type, "application/json");
    }
}
