//! Local stand-ins for an OTLP/HTTP collector, one per fault the benchmark injects: healthy
//! (answers `200` to `/v1/traces` and `/v1/metrics`, counts requests and bytes), answering `500`,
//! stalling (accepts and reads, never answers), and refusing (a port nobody listens on).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

/// How the collector behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// `200` to every export.
    Healthy,
    /// `500` to every export.
    Failing,
    /// Accepts the connection, reads the request, never answers.
    Stalling,
    /// Nothing listens on the port: connections are refused.
    Refusing,
}

impl Behaviour {
    /// The name the report uses.
    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy (200)",
            Self::Failing => "answers 500",
            Self::Stalling => "stalls (accepts, never answers)",
            Self::Refusing => "refuses (closed port)",
        }
    }
}

/// A running stand-in; dropping it stops it (stalled connections are closed).
#[derive(Debug)]
pub struct Collector {
    port: u16,
    requests: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    server: Option<Server>,
}

/// The tiny_http server of a healthy or failing collector.
struct Server(Arc<tiny_http::Server>);

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tiny_http::Server")
    }
}

impl Collector {
    /// Starts a collector with `behaviour` on `127.0.0.1` and a free port.
    pub fn start(behaviour: Behaviour) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let mut server = None;
        match behaviour {
            // Closing the listener leaves a port that refuses connections.
            Behaviour::Refusing => drop(listener),
            // No HTTP server: a socket that reads and never answers.
            Behaviour::Stalling => {
                let (bytes, stop, held) = (bytes.clone(), stop.clone(), held.clone());
                std::thread::spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(stream) = stream else { continue };
                        let (bytes, held) = (bytes.clone(), held.clone());
                        std::thread::spawn(move || stall(stream, &bytes, &held));
                    }
                });
            }
            Behaviour::Healthy | Behaviour::Failing => {
                let status = if behaviour == Behaviour::Failing {
                    500
                } else {
                    200
                };
                let http = Arc::new(
                    tiny_http::Server::from_listener(listener, None)
                        .map_err(|err| anyhow!("serving the collector on {port}: {err}"))?,
                );
                let (receiver, requests, bytes) = (http.clone(), requests.clone(), bytes.clone());
                std::thread::spawn(move || {
                    while let Ok(request) = receiver.recv() {
                        answer(request, status, &requests, &bytes);
                    }
                });
                server = Some(Server(http));
            }
        }
        Ok(Self {
            port,
            requests,
            bytes,
            stop,
            held,
            server,
        })
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Export requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Request body bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(Server(server)) = &self.server {
            server.unblock();
        }
        let _ = TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.port).into(),
            Duration::from_millis(100),
        );
        for stream in self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Counts one export request and answers it with `status`.
fn answer(mut request: tiny_http::Request, status: u16, requests: &AtomicU64, bytes: &AtomicU64) {
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    requests.fetch_add(1, Ordering::SeqCst);
    bytes.fetch_add(body.len() as u64, Ordering::SeqCst);
    let mut response = tiny_http::Response::empty(status);
    if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", "application/x-protobuf") {
        response.add_header(header);
    }
    let _ = request.respond(response);
}

/// Keeps the connection open (until the collector is dropped) and drains what arrives.
fn stall(stream: TcpStream, bytes: &AtomicU64, held: &Mutex<Vec<TcpStream>>) {
    let _ = stream.set_nodelay(true);
    if let Ok(clone) = stream.try_clone() {
        held.lock().unwrap_or_else(|p| p.into_inner()).push(clone);
    }
    let mut sink = [0u8; 16 * 1024];
    let mut stream = stream;
    while let Ok(n) = stream.read(&mut sink) {
        if n == 0 {
            return;
        }
        bytes.fetch_add(n as u64, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// POSTs `body` to the collector's `/v1/traces`; its status, or the transport error.
    fn post(collector: &Collector, body: &[u8], timeout: Duration) -> Result<u16> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let url = format!("{}/v1/traces", collector.endpoint());
        let response = agent
            .post(&url)
            .send(body)
            .with_context(|| format!("connecting to {url}"))?;
        Ok(response.status().as_u16())
    }

    #[test]
    fn each_behaviour_answers_as_promised() {
        let healthy = Collector::start(Behaviour::Healthy).unwrap();
        let status = post(&healthy, b"abc", Duration::from_secs(5)).unwrap();
        assert_eq!(status, 200);
        assert_eq!((healthy.requests(), healthy.bytes()), (1, 3));

        let failing = Collector::start(Behaviour::Failing).unwrap();
        let status = post(&failing, b"x", Duration::from_secs(5)).unwrap();
        assert_eq!(status, 500);

        let stalling = Collector::start(Behaviour::Stalling).unwrap();
        assert!(post(&stalling, b"x", Duration::from_millis(200)).is_err());

        let refusing = Collector::start(Behaviour::Refusing).unwrap();
        let err = post(&refusing, b"x", Duration::from_secs(5)).unwrap_err();
        assert!(format!("{err:#}").contains("connecting"), "{err:#}");
        assert!(format!("{err:#}").contains("refused"), "{err:#}");
    }
}
