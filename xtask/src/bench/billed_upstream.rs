//! The upstream of the billed-cycle section: an OTLP/HTTP receiver on `127.0.0.1:0` that waits
//! a fixed delay before answering `200` (a collector tens of milliseconds away, or at once) and
//! counts the spans of every `/v1/traces` request by span name (plain or gzip protobuf).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{Result, anyhow};

/// Spans received by span name, requests that were neither OTLP protobuf nor OTLP JSON, and
/// requests by path.
type Counts = Arc<Mutex<(BTreeMap<String, u64>, u64, BTreeMap<String, u64>)>>;

/// A delayed, counting upstream. Serves until dropped with the process (one thread per request,
/// so a slow answer does not hold the next request back).
#[derive(Debug, Clone)]
pub struct DelayedUpstream {
    addr: SocketAddr,
    counts: Counts,
}

impl DelayedUpstream {
    /// Starts one that answers every request `delay` after reading it.
    pub fn start(delay: Duration) -> Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None)
                .map_err(|err| anyhow!("serving the delayed upstream on {addr}: {err}"))?,
        );
        let counts: Counts = Arc::default();
        let shared = counts.clone();
        thread::spawn(move || {
            for request in server.incoming_requests() {
                let counts = shared.clone();
                thread::spawn(move || answer(request, delay, &counts));
            }
        });
        Ok(Self { addr, counts })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Spans received so far, by name.
    pub fn spans_by_name(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .map(|c| c.0.clone())
            .unwrap_or_else(|p| p.into_inner().0.clone())
    }

    /// Requests received so far, by path (`/v1/traces`, `/v1/logs`, …).
    pub fn requests_by_path(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .map(|c| c.2.clone())
            .unwrap_or_else(|p| p.into_inner().2.clone())
    }

    /// Trace requests that were neither OTLP protobuf nor OTLP JSON.
    pub fn malformed(&self) -> u64 {
        self.counts
            .lock()
            .map(|c| c.1)
            .unwrap_or_else(|p| p.into_inner().1)
    }
}

fn answer(mut request: tiny_http::Request, delay: Duration, counts: &Counts) {
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let gzip = request.headers().iter().any(|h| {
        h.field.equiv("content-encoding") && h.value.as_str().trim().eq_ignore_ascii_case("gzip")
    });
    if gzip {
        let mut plain = Vec::new();
        body = match flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain) {
            Ok(_) => plain,
            Err(_) => vec![0xff],
        };
    }
    thread::sleep(delay);
    let mut guard = counts.lock().unwrap_or_else(|p| p.into_inner());
    *guard.2.entry(request.url().to_owned()).or_default() += 1;
    if request.url() == "/v1/traces" {
        let names = span_names(&body).or_else(|| json_span_names(&body));
        match names {
            Some(names) => {
                for name in names {
                    *guard.0.entry(name).or_default() += 1;
                }
            }
            None => {
                if guard.1 == 0 {
                    let content_type = request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("content-type"))
                        .map(|h| h.value.to_string())
                        .unwrap_or_default();
                    eprintln!(
                        "xtask:   upstream: a {} byte /v1/traces request ({content_type}) is not OTLP protobuf",
                        body.len()
                    );
                }
                guard.1 += 1;
            }
        }
    }
    drop(guard);
    let mut response = tiny_http::Response::empty(200);
    if let Ok(header) = tiny_http::Header::from_bytes("content-type", "application/x-protobuf") {
        response.add_header(header);
    }
    let _ = request.respond(response);
}

/// Reads a protobuf varint at `*at`.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The length-delimited fields numbered `field` of one message; `None` if it is malformed.
fn fields(bytes: &[u8], field: u64) -> Option<Vec<&[u8]>> {
    let (mut at, mut out) = (0usize, Vec::new());
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        match key & 7 {
            0 => {
                varint(bytes, &mut at)?;
            }
            1 => at = at.checked_add(8)?,
            5 => at = at.checked_add(4)?,
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
                let end = at.checked_add(len)?;
                let value = bytes.get(at..end)?;
                if key >> 3 == field {
                    out.push(value);
                }
                at = end;
            }
            _ => return None,
        }
    }
    (at == bytes.len()).then_some(out)
}

/// The name of every span of an `ExportTraceServiceRequest`, `None` if it is malformed.
pub fn span_names(request: &[u8]) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for resource_spans in fields(request, 1)? {
        for scope_spans in fields(resource_spans, 2)? {
            for span in fields(scope_spans, 2)? {
                let name = fields(span, 5)?.last().copied().unwrap_or_default();
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Some(names)
}

/// The name of every span of an OTLP/JSON `ExportTraceServiceRequest` (what the upstream
/// recipe's `with_http()` exporter sends), `None` if it is not one.
pub fn json_span_names(request: &[u8]) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_slice(request).ok()?;
    let mut names = Vec::new();
    for resource_spans in value.get("resourceSpans")?.as_array()? {
        for scope_spans in resource_spans.get("scopeSpans")?.as_array()? {
            for span in scope_spans.get("spans")?.as_array()? {
                let name = span
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or_default();
                names.push(name.to_owned());
            }
        }
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::super::otlp_load::{encode_request, load_client, post_traces};
    use super::*;

    #[test]
    fn reads_the_names_of_every_span_and_refuses_truncated_requests() {
        let request = encode_request(3, 7);
        assert_eq!(
            span_names(&request),
            Some(vec!["bench operation".to_string(); 3])
        );
        assert_eq!(span_names(&[]), Some(vec![]));
        assert_eq!(span_names(&request[..request.len() - 1]), None);
        assert_eq!(span_names(&[0x0a, 0xff]), None);
        let json = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},{"name":"b"}]}]}]}"#;
        assert_eq!(span_names(json), None);
        assert_eq!(
            json_span_names(json),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(json_span_names(b"{}"), None);
    }

    #[test]
    fn counts_by_name_after_the_delay() -> Result<()> {
        let upstream = DelayedUpstream::start(Duration::from_millis(30))?;
        let client = load_client();
        let port = upstream.addr.port();
        let started = std::time::Instant::now();
        for seed in 0..2 {
            assert_eq!(post_traces(&client, port, &encode_request(5, seed))?, 200);
        }
        assert!(started.elapsed() >= Duration::from_millis(60));
        assert_eq!(
            upstream.spans_by_name(),
            BTreeMap::from([("bench operation".to_string(), 10)])
        );
        assert_eq!(upstream.malformed(), 0);
        assert_eq!(
            upstream.requests_by_path(),
            BTreeMap::from([("/v1/traces".to_string(), 2)])
        );
        Ok(())
    }
}
