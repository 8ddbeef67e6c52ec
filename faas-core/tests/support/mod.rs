//! Real local OTLP/HTTP collectors for the tests: one that accepts and decodes, one that
//! refuses connections, one that accepts and never answers, one that answers 500.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the fake collector behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Decodes OTLP protobuf and answers 200.
    Accept,
    /// Accepts the connection, reads the request, never answers.
    Stall,
    /// Answers 500.
    Fail,
    /// Answers 500 to the first request, then behaves like `Accept`.
    FailOnce,
}

/// A collector on 127.0.0.1, served from its own thread and runtime so that it is independent
/// of the runtime flavour under test.
pub struct Collector {
    pub addr: SocketAddr,
    pub spans: Arc<Mutex<Vec<Span>>>,
    pub requests: Arc<AtomicUsize>,
    pub paths: Arc<Mutex<Vec<String>>>,
}

impl Collector {
    pub fn start(behaviour: Behaviour) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (s, r, p) = (spans.clone(), requests.clone(), paths.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let mut held = Vec::new();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let (s, r, p) = (s.clone(), r.clone(), p.clone());
                    if behaviour == Behaviour::Stall {
                        held.push(stream);
                        r.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    tokio::spawn(serve(stream, behaviour, s, r, p));
                }
            });
        });
        Self {
            addr,
            spans,
            requests,
            paths,
        }
    }

    /// A URL whose port nobody listens on: connections are refused.
    pub fn refusing_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn span_names(&self) -> Vec<String> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    pub fn span_count(&self) -> usize {
        self.spans.lock().unwrap().len()
    }
}

/// Reads one HTTP/1.1 request (method, path, body); `None` when the peer closed or sent
/// garbage. Shared with the other protocol fakes of the tests.
pub async fn read_request(stream: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut first = head.lines().next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some((method, path, body))
}

async fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    spans: Arc<Mutex<Vec<Span>>>,
    requests: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
) {
    while let Some((_method, path, body)) = read_request(&mut stream).await {
        let previous = requests.fetch_add(1, Ordering::SeqCst);
        paths.lock().unwrap().push(path.clone());
        let status = match behaviour {
            Behaviour::Fail => "500 Internal Server Error",
            Behaviour::FailOnce if previous == 0 => "500 Internal Server Error",
            _ => {
                if path == "/v1/traces"
                    && let Ok(req) = ExportTraceServiceRequest::decode(body.as_slice())
                {
                    let mut all = spans.lock().unwrap();
                    for rs in req.resource_spans {
                        for ss in rs.scope_spans {
                            all.extend(ss.spans);
                        }
                    }
                }
                "200 OK"
            }
        };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
