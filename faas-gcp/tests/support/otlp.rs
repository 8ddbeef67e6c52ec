//! An OTLP/HTTP collector that keeps each decoded `ExportTraceServiceRequest` whole, so tests
//! can read the resource as well as the spans. Reads requests with faas-core's test helper.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::collector::read_request;

pub struct ResourceCollector {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

impl ResourceCollector {
    pub fn start() -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = requests.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                loop {
                    let Ok((mut stream, _)) = listener.accept().await else {
                        return;
                    };
                    let kept = kept.clone();
                    tokio::spawn(async move {
                        while let Some((_method, path, body)) = read_request(&mut stream).await {
                            if path == "/v1/traces"
                                && let Ok(req) = ExportTraceServiceRequest::decode(body.as_slice())
                            {
                                kept.lock().unwrap().push(req);
                            }
                            let response = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                            if stream.write_all(response.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
        });
        Self { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received, with the attributes of its resource.
    pub fn spans(&self) -> Vec<(Vec<KeyValue>, Span)> {
        let mut out = Vec::new();
        for req in self.requests.lock().unwrap().iter() {
            for rs in &req.resource_spans {
                let resource = rs
                    .resource
                    .as_ref()
                    .map(|r| r.attributes.clone())
                    .unwrap_or_default();
                for ss in &rs.scope_spans {
                    for span in &ss.spans {
                        out.push((resource.clone(), span.clone()));
                    }
                }
            }
        }
        out
    }

    /// Waits (up to 5 s) until a span named `name` that satisfies `pred` arrived.
    pub fn wait_for(&self, name: &str, pred: impl Fn(&Span) -> bool) -> (Vec<KeyValue>, Span) {
        let started = std::time::Instant::now();
        loop {
            if let Some(found) = self
                .spans()
                .into_iter()
                .find(|(_, s)| s.name == name && pred(s))
            {
                return found;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "no span {name:?}; got {:?}",
                self.spans()
                    .iter()
                    .map(|(_, s)| s.name.clone())
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// The string, int or bool value of `key` in `attributes`, as text.
pub fn attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match value.value.as_ref()? {
        Any::StringValue(s) => Some(s.clone()),
        Any::IntValue(i) => Some(i.to_string()),
        Any::BoolValue(b) => Some(b.to_string()),
        Any::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
