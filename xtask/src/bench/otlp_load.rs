//! OTLP load for the collector footprint benchmark, std only: protobuf
//! `ExportTraceServiceRequest`s written by hand, a span counter that walks the protobuf
//! without decoding it, and an upstream receiver that counts the spans it is sent.
//!
//! Field numbers are those of `opentelemetry/proto/collector/trace/v1` and `trace/v1`:
//! request.resource_spans = 1; ResourceSpans.resource = 1, .scope_spans = 2; ScopeSpans.scope
//! = 1, .spans = 2; Span.trace_id = 1, .span_id = 2, .name = 5, .kind = 6,
//! .start_time_unix_nano = 7 (fixed64), .end_time_unix_nano = 8 (fixed64), .attributes = 9;
//! KeyValue.key = 1, .value = 2; AnyValue.string_value = 1; Resource.attributes = 1.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn key_value(key: &str, value: &str) -> Vec<u8> {
    let mut any = Vec::new();
    bytes_field(&mut any, 1, value.as_bytes());
    let mut kv = Vec::new();
    bytes_field(&mut kv, 1, key.as_bytes());
    bytes_field(&mut kv, 2, &any);
    kv
}

/// The name of every span [`encode_request`] makes (the collector's own spans have others).
pub const LOAD_SPAN_NAME: &str = "bench operation";

/// One request of `spans` spans (one trace per request, distinct span ids from `seed`), as a
/// small function would send them: a resource with `service.name`, one scope, spans with two
/// attributes. About 100 bytes per span.
pub fn encode_request(spans: usize, seed: u64) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    trace_id[8..].copy_from_slice(&seed.to_be_bytes());
    let mut scope_spans = Vec::new();
    let mut scope = Vec::new();
    bytes_field(&mut scope, 1, b"bench");
    bytes_field(&mut scope_spans, 1, &scope);
    for i in 0..spans as u64 {
        let mut span = Vec::new();
        bytes_field(&mut span, 1, &trace_id);
        bytes_field(
            &mut span,
            2,
            &(seed.wrapping_mul(1 << 20) + i + 1).to_be_bytes(),
        );
        bytes_field(&mut span, 5, LOAD_SPAN_NAME.as_bytes());
        tag(&mut span, 6, 0);
        varint(&mut span, 1);
        tag(&mut span, 7, 1);
        span.extend_from_slice(&now.to_le_bytes());
        tag(&mut span, 8, 1);
        span.extend_from_slice(&(now + 1_000_000).to_le_bytes());
        bytes_field(&mut span, 9, &key_value("faas.trigger", "http"));
        bytes_field(&mut span, 9, &key_value("http.route", "/orders/{id}"));
        bytes_field(&mut scope_spans, 2, &span);
    }
    let mut resource = Vec::new();
    bytes_field(&mut resource, 1, &key_value("service.name", "bench"));
    let mut resource_spans = Vec::new();
    bytes_field(&mut resource_spans, 1, &resource);
    bytes_field(&mut resource_spans, 2, &scope_spans);
    let mut request = Vec::new();
    bytes_field(&mut request, 1, &resource_spans);
    request
}

/// The length-delimited fields numbered `field` of the message `bytes` (others skipped).
fn submessages(bytes: &[u8], field: u64) -> Option<Vec<&[u8]>> {
    let mut found = Vec::new();
    let mut at = 0usize;
    let read_varint = |at: &mut usize| -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    };
    while at < bytes.len() {
        let key = read_varint(&mut at)?;
        match key & 7 {
            0 => {
                read_varint(&mut at)?;
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let len = read_varint(&mut at)? as usize;
                let end = at.checked_add(len)?;
                let body = bytes.get(at..end)?;
                if key >> 3 == field {
                    found.push(body);
                }
                at = end;
            }
            _ => return None,
        }
    }
    (at == bytes.len()).then_some(found)
}

/// The number of spans in a protobuf `ExportTraceServiceRequest`, `None` if it is malformed.
#[cfg(test)]
pub fn count_spans(request: &[u8]) -> Option<u64> {
    Some(count_spans_by_name(request)?.0)
}

/// The spans of a protobuf `ExportTraceServiceRequest`, and those of them named
/// [`LOAD_SPAN_NAME`]; `None` if it is malformed.
pub fn count_spans_by_name(request: &[u8]) -> Option<(u64, u64)> {
    let (mut total, mut load) = (0u64, 0u64);
    for resource_spans in submessages(request, 1)? {
        for scope_spans in submessages(resource_spans, 2)? {
            for span in submessages(scope_spans, 2)? {
                total += 1;
                if submessages(span, 5)?.last() == Some(&LOAD_SPAN_NAME.as_bytes()) {
                    load += 1;
                }
            }
        }
    }
    Some((total, load))
}

/// An upstream OTLP/HTTP receiver on `127.0.0.1:0` that answers `200` and counts the spans of
/// every protobuf `/v1/traces` request (plain or gzip) (other paths: answered, not counted).
#[derive(Debug, Clone)]
pub struct CountingUpstream {
    addr: SocketAddr,
    spans: Arc<AtomicU64>,
    load_spans: Arc<AtomicU64>,
    malformed: Arc<AtomicU64>,
}

impl CountingUpstream {
    /// Starts it; it runs until the process ends.
    pub fn start() -> Result<Self> {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let spans = Arc::new(AtomicU64::new(0));
        let load_spans = Arc::new(AtomicU64::new(0));
        let malformed = Arc::new(AtomicU64::new(0));
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None)
                .map_err(|err| anyhow!("serving the counting upstream on {addr}: {err}"))?,
        );
        let counters = [spans.clone(), load_spans.clone(), malformed.clone()];
        thread::spawn(move || {
            // One thread per request, as the extension forwards on several connections.
            for request in server.incoming_requests() {
                let counters = counters.clone();
                thread::spawn(move || count_request(request, &counters));
            }
        });
        Ok(Self {
            addr,
            spans,
            load_spans,
            malformed,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Spans received so far.
    pub fn spans(&self) -> u64 {
        self.spans.load(Ordering::SeqCst)
    }

    /// Spans received so far named [`LOAD_SPAN_NAME`] (the load's, not the collector's own).
    pub fn load_spans(&self) -> u64 {
        self.load_spans.load(Ordering::SeqCst)
    }

    /// Trace requests that were not protobuf (or not valid gzip).
    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::SeqCst)
    }
}

/// Counts the spans of one request (`[spans, load spans, malformed requests]`) and answers
/// `200`.
fn count_request(
    mut request: tiny_http::Request,
    [spans, load_spans, malformed]: &[Arc<AtomicU64>; 3],
) {
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let gzip = request.headers().iter().any(|h| {
        h.field.equiv("content-encoding") && h.value.as_str().trim().eq_ignore_ascii_case("gzip")
    });
    let body = if gzip {
        let mut plain = Vec::new();
        match flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain) {
            Ok(_) => plain,
            Err(_) => Vec::from([0xffu8]),
        }
    } else {
        body
    };
    if request.url() == "/v1/traces" {
        match count_spans_by_name(&body) {
            Some((n, load)) => {
                spans.fetch_add(n, Ordering::SeqCst);
                load_spans.fetch_add(load, Ordering::SeqCst);
            }
            None => {
                malformed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let mut response = tiny_http::Response::empty(200);
    if let Ok(header) = tiny_http::Header::from_bytes("content-type", "application/x-protobuf") {
        response.add_header(header);
    }
    let _ = request.respond(response);
}

/// A client for [`post_traces`]: it keeps one connection alive, so that a load loop measures
/// the receiver, not connection set-up.
pub fn load_client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Posts `body` as protobuf to `http://127.0.0.1:port/v1/traces` with `client` (keep-alive)
/// and returns the status code.
pub fn post_traces(client: &ureq::Agent, port: u16, body: &[u8]) -> Result<u16> {
    let url = format!("http://127.0.0.1:{port}/v1/traces");
    let mut response = client
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .send(body)
        .with_context(|| format!("POST {url}"))?;
    // Read the answer whole, so that the connection goes back to the pool.
    response
        .body_mut()
        .read_to_vec()
        .with_context(|| format!("reading the answer of {url}"))?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encoded_requests_count_back_and_garbage_is_rejected() {
        for spans in [0, 1, 100] {
            let request = encode_request(spans, 7);
            assert_eq!(count_spans(&request), Some(spans as u64));
        }
        let request = encode_request(100, 7);
        assert_eq!(count_spans(&request[..request.len() - 3]), None);
        assert_eq!(count_spans(&[0xff, 0xff]), None);
    }

    #[test]
    fn the_upstream_counts_what_is_posted() {
        let upstream = CountingUpstream::start().unwrap();
        let port = upstream.addr.port();
        let client = load_client();
        for seed in 0..3 {
            let status = post_traces(&client, port, &encode_request(10, seed)).unwrap();
            assert_eq!(status, 200);
        }
        assert_eq!(upstream.spans(), 30);
        assert_eq!(upstream.load_spans(), 30);
        assert_eq!(upstream.malformed(), 0);
    }
}
