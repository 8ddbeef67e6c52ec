//! The real `faas-otel-extension` binary end to end, over HTTP on 127.0.0.1: lambda-emulator's
//! scripted Extensions and Telemetry APIs drive its lifecycle, the test plays the function
//! (OTLP to the extension's loopback receiver) and faas-testkit's OTLP receiver plays the
//! upstream. The extension binds every listener on port 0 and says where in its first stderr
//! line; no port is picked in advance.
//!
//! Loss and order (10,000 spans over 1,000 invocations, an upstream down then back, the memory
//! cap), bad bodies, `Retry-After`, what ends the wait after INVOKE, platform spans, OTLP/JSON in
//! and out, settings errors, tail sampling, and (feature `grpc`) the OTLP/gRPC receiver.
#![allow(clippy::unwrap_used)]

mod fixtures;
mod harness;

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faas_core::env::Env;
use faas_testkit::otlp::proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use faas_testkit::otlp::proto::tonic::common::v1::any_value;
use faas_testkit::otlp::proto::tonic::trace::v1::{Span, span, status};
use faas_testkit::otlp::{self, OtlpReceiver, kv, str_attr};
use faas_testkit::{PATIENCE, Process, Reply, wait_until};
use lambda_emulator::{Entry, InvokeEvent, ScriptedLambda};
use opentelemetry::KeyValue;
use prost::Message;
use serde_json::Value;

use harness::{listening, spawn};

use fixtures::{
    REQ_ERROR, REQ_TIMEOUT, T_TIMEOUT, assert_error_invoke, cost_in, fixture_bytes,
    on_demand_init_attributes,
};

// ---------------------------------------------------------------------------------------------
// The extension process and what a function sends.

/// The running binary and the addresses it reported.
struct Extension {
    process: Process,
    otlp: SocketAddr,
    #[cfg(feature = "grpc")]
    grpc: SocketAddr,
    /// One client for every request (building one costs more than a request).
    http: reqwest::Client,
}

/// Starts the binary and waits until it listens and has registered and subscribed.
fn start_extension(
    lambda: &ScriptedLambda,
    upstream: &OtlpReceiver,
    extra: &[(&str, &str)],
) -> Extension {
    let process = spawn(lambda, Some(&upstream.url()), extra);
    let otlp = wait_until("the extension to listen", PATIENCE, || {
        listening(&process.stderr(), "otlp-http")
    })
    .unwrap();
    #[cfg(feature = "grpc")]
    let grpc = listening(&process.stderr(), "otlp-grpc").unwrap();
    // The receivers listen before the extension registers, so after the first `next` call
    // (registered and subscribed) everything is up.
    lambda.wait_nexts(1);
    Extension {
        process,
        otlp,
        #[cfg(feature = "grpc")]
        grpc,
        http: reqwest::Client::new(),
    }
}

/// A scripted Lambda, an upstream answering `reply` by default, and the extension.
///
/// Every scenario here exports at the end of the invocation (`FAAS_OTEL_EXTENSION_FLUSH=end`,
/// unless `extra` says otherwise): under the default, adaptive, an invocation that runs longer
/// than the export interval on a loaded machine also exports in the background, and a
/// scenario that fills the buffer on purpose would find it emptied (`flush_strategy.rs` tests
/// the other strategies).
fn start_all(reply: Reply, extra: &[(&str, &str)]) -> (ScriptedLambda, OtlpReceiver, Extension) {
    let lambda = ScriptedLambda::start().unwrap();
    let upstream = OtlpReceiver::builder()
        .default_reply(reply)
        .start()
        .unwrap();
    let mut env = vec![("FAAS_OTEL_EXTENSION_FLUSH", "end")];
    env.extend_from_slice(extra);
    let extension = start_extension(&lambda, &upstream, &env);
    (lambda, upstream, extension)
}

/// Plays invocation `id`: the emulator delivers it, then the function exports `spans` to the
/// extension, which accepts them.
async fn invocation(
    lambda: &ScriptedLambda,
    extension: &Extension,
    id: &str,
    spans: &ExportTraceServiceRequest,
) {
    lambda.invoke_and_wait(invoke(id));
    assert_eq!(extension.post_traces(spans).await.0, 200);
}

impl Extension {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.otlp)
    }

    /// POSTs `body` to the receiver's `path` with `headers`; the status and the body.
    async fn post(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Vec<u8>) {
        let mut request = self.http.post(self.url(path)).body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    /// POSTs a trace request as protobuf, as the function's exporter does.
    async fn post_traces(
        &self,
        request: &ExportTraceServiceRequest,
    ) -> (u16, ExportTraceServiceResponse) {
        let (status, body) = self
            .post(
                "/v1/traces",
                &[("content-type", "application/x-protobuf")],
                request.encode_to_vec(),
            )
            .await;
        let decoded = if status == 200 {
            ExportTraceServiceResponse::decode(&body[..]).unwrap()
        } else {
            ExportTraceServiceResponse::default()
        };
        (status, decoded)
    }

    /// Queues SHUTDOWN and checks the extension drains and exits 0.
    fn shut_down(&mut self, lambda: &ScriptedLambda) {
        lambda.shutdown("spindown", Duration::from_secs(2));
        let status = self.process.wait_exit(PATIENCE).unwrap();
        assert!(status.success(), "{status}");
    }
}

const TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

fn invoke(id: &str) -> InvokeEvent {
    InvokeEvent::new(id)
        .trace_header(TRACE_HEADER)
        .deadline_in(Duration::from_secs(30))
}

fn request_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// The function's span number `n` of its invocation `request_id`: every one carries the id.
fn function_span(trace_id: u128, span_id: u64, request_id: &str, n: usize) -> Span {
    Span {
        trace_id: trace_id.to_be_bytes().to_vec(),
        span_id: span_id.to_be_bytes().to_vec(),
        name: format!("orders step {n}"),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_010_000_000,
        attributes: vec![
            kv("faas.invocation_id", request_id),
            kv("faas.trigger", "other"),
        ],
        ..Span::default()
    }
}

/// A request of `spans` under a `service.name=orders` resource.
fn trace_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    otlp::trace_request(vec![kv("service.name", "orders")], spans)
}

/// The function's 10 spans of invocation `i` (trace `i + 1`, span ids `i * 16 + j + 1`).
fn invocation_request(i: usize) -> ExportTraceServiceRequest {
    let id = request_id(i);
    trace_request(
        (0..10)
            .map(|j| function_span(i as u128 + 1, (i * 16 + j + 1) as u64, &id, j))
            .collect(),
    )
}

/// A function's trace for `request_id`: `spans` spans in trace `trace`, the first the invocation
/// span `orders` carrying `faas.invocation_id`, the others its children `step 1`, `step 2`, ...
fn function_spans(request_id: &str, trace: u128, spans: usize) -> ExportTraceServiceRequest {
    let root = (trace as u64) << 8;
    let mut all = vec![Span {
        trace_id: trace.to_be_bytes().to_vec(),
        span_id: root.to_be_bytes().to_vec(),
        name: "orders".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_010_000_000,
        attributes: vec![kv("faas.invocation_id", request_id)],
        ..Span::default()
    }];
    for i in 1..spans {
        all.push(Span {
            trace_id: trace.to_be_bytes().to_vec(),
            span_id: (root + i as u64).to_be_bytes().to_vec(),
            parent_span_id: root.to_be_bytes().to_vec(),
            name: format!("step {i}"),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: 1_700_000_000_001_000_000,
            end_time_unix_nano: 1_700_000_000_002_000_000,
            ..Span::default()
        });
    }
    trace_request(all)
}

/// `request` with the invocation span's attributes removed: a function that does not mark its
/// spans.
fn unmarked(mut request: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    request.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .clear();
    request
}

fn invocation_of(span: &Span) -> Option<&str> {
    str_attr(&span.attributes, "faas.invocation_id")
}

/// Every span the upstream accepted, with when its request arrived.
fn spans_at(upstream: &OtlpReceiver) -> Vec<(Instant, Span)> {
    upstream
        .requests()
        .into_iter()
        .filter(|r| r.accepted())
        .filter_map(|r| Some((r.at, r.traces()?.clone())))
        .flat_map(|(at, request)| {
            request
                .resource_spans
                .into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans)
                .map(move |s| (at, s))
        })
        .collect()
}

/// The statuses the upstream answered to `/v1/traces`, in order, with arrival times.
fn trace_attempts(upstream: &OtlpReceiver) -> Vec<(u16, Instant, SystemTime)> {
    upstream
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/traces")
        .map(|r| (r.status.unwrap_or(0), r.at, r.wall))
        .collect()
}

/// When the extension called `next` for the `n`-th time.
fn nth_next_at(lambda: &ScriptedLambda, n: usize) -> Instant {
    lambda
        .entries()
        .into_iter()
        .filter(|l| l.entry.is_next())
        .nth(n - 1)
        .unwrap()
        .at
}

/// When the INVOKE of `id` was handed out.
fn delivered_at(lambda: &ScriptedLambda, id: &str) -> Instant {
    lambda
        .entries()
        .into_iter()
        .find(|l| l.entry.is_delivery_of(id))
        .unwrap()
        .at
}

fn dropped(upstream: &OtlpReceiver, signal: &str) -> i64 {
    upstream.metric_sum("faas_otel.extension.dropped", "signal", signal)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Loss, order and the memory cap.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_spans_over_a_thousand_invocations_arrive_exactly_once() {
    let (lambda, upstream, mut extension) = start_all(Reply::Accept, &[]);
    assert_eq!(
        lambda.registrations(),
        [(
            "faas-otel-extension".to_owned(),
            vec!["INVOKE".to_owned(), "SHUTDOWN".to_owned()],
            false
        )]
    );
    for i in 0..1000 {
        let id = request_id(i);
        lambda.invoke_and_wait(invoke(&id));
        let (status, response) = extension.post_traces(&invocation_request(i)).await;
        assert_eq!(status, 200);
        assert_eq!(response.partial_success, None);
        lambda.wait_nexts(i + 2);
        if i < 5 {
            // Below the periodic threshold the extension exports before asking for more.
            let next = nth_next_at(&lambda, i + 2);
            let before: Vec<Instant> = spans_at(&upstream)
                .into_iter()
                .filter(|(_, s)| invocation_of(s) == Some(id.as_str()))
                .map(|(at, _)| at)
                .collect();
            assert_eq!(before.len(), 10, "invocation {i}");
            assert!(before.iter().all(|at| *at < next), "invocation {i}");
        }
    }
    extension.shut_down(&lambda);

    let spans = upstream.spans();
    assert_eq!(spans.len(), 10_000);
    let ids: HashSet<Vec<u8>> = spans.iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(ids.len(), 10_000);
    let mut per_invocation: BTreeMap<String, usize> = BTreeMap::new();
    for span in &spans {
        *per_invocation
            .entry(invocation_of(span).unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_invocation.len(), 1000);
    assert!(per_invocation.values().all(|n| *n == 10));
    let requests = upstream.requests();
    assert!(requests.iter().all(|r| r.status == Some(200)));
    assert!(requests.iter().all(|r| r.encoding.is_none()));
    assert_eq!(dropped(&upstream, "spans"), 0);
    assert!(upstream.invalid().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_cap_while_upstream_is_down_is_rejected_counted_and_the_rest_delivered() {
    let size = invocation_request(0).encoded_len();
    // The cap counts what is held: each request's bytes and its fixed overhead.
    let limit = (15 * (size + faas_otel_extension::HELD_REQUEST_OVERHEAD) + 10).to_string();
    let refuse = Reply::status(503).retry_after("1").body("try later");
    let (lambda, upstream, mut extension) = start_all(
        refuse,
        &[
            ("FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES", &limit),
            ("FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS", "300"),
        ],
    );
    // 30 requests of 10 spans between invocations: 15 fit, 15 are rejected.
    let mut rejected = 0;
    for n in 0..30 {
        let request = invocation_request(n);
        assert_eq!(request.encoded_len(), size);
        let (status, response) = extension.post_traces(&request).await;
        assert_eq!(status, 200);
        match response.partial_success {
            None => assert!(n < 15, "request {n} accepted"),
            Some(partial) => {
                assert!(n >= 15, "request {n} rejected");
                assert_eq!(partial.rejected_spans, 10);
                assert!(partial.error_message.contains("memory cap"));
                rejected += partial.rejected_spans;
            }
        }
    }
    assert_eq!(rejected, 150);

    // An invocation while the upstream refuses: tried, kept.
    lambda.invoke(invoke(&request_id(0)));
    lambda.wait_nexts(2);
    let requests = upstream.requests();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r.status == Some(503)));

    // The upstream recovers; the next invocation delivers everything accepted.
    upstream.set_default(Reply::Accept);
    lambda.invoke(invoke(&request_id(1)));
    lambda.wait_nexts(3);
    extension.shut_down(&lambda);

    let spans = upstream.spans();
    assert_eq!(spans.len(), 150);
    let delivered: HashSet<&str> = spans.iter().filter_map(invocation_of).collect();
    let expected: Vec<String> = (0..15).map(request_id).collect();
    assert_eq!(
        delivered,
        expected.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    assert_eq!(dropped(&upstream, "spans"), 150);
    assert_eq!(dropped(&upstream, "metric_points"), 0);
}

// ---------------------------------------------------------------------------------------------
// Bad input.

/// A gzip member that inflates to about 1 GiB of zeros (1 + 258 × 4,161,790 bytes) from about
/// 1 MB: one dynamic-Huffman deflate block whose every (length 258, distance 1) pair costs two
/// bits. Hand-written: no compressor writes such a block (flate2 would spend seconds
/// compressing 1 GiB, and still emit a larger member).
fn gzip_bomb() -> (Vec<u8>, u64) {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        /// `count` bits of `value`, least significant first (header fields, extra bits).
        fn lsb(&mut self, value: u64, count: u32) {
            self.acc |= value << self.n;
            self.n += count;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u64, len: u32) {
            for i in (0..len).rev() {
                self.lsb((code >> i) & 1, 1);
            }
        }
        fn finish(mut self) -> Vec<u8> {
            if self.n > 0 {
                self.out.push(self.acc as u8);
            }
            self.out
        }
    }
    const PAIRS: u64 = 4_161_790;
    let total = 1 + 258 * PAIRS;
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255],
        acc: 0,
        n: 0,
    };
    bits.lsb(1, 1); // BFINAL
    bits.lsb(2, 2); // dynamic Huffman
    bits.lsb(286 - 257, 5); // HLIT: literal/length codes 0..=285
    bits.lsb(0, 5); // HDIST: one distance code
    bits.lsb(18 - 4, 4); // HCLEN: code length codes up to symbol 1 in the permuted order
    // Code length code lengths in the order 16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1:
    // symbol 18 (a run of zeros) 1 bit, symbols 1 and 2 two bits each.
    for len in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        bits.lsb(len, 3);
    }
    // Codes: 18 -> 0, 1 -> 10, 2 -> 11.
    let two = |b: &mut Bits| b.code(0b11, 2);
    let zeros = |b: &mut Bits, n: u64| {
        b.code(0, 1);
        b.lsb(n - 11, 7);
    };
    two(&mut bits); // literal 0: length 2
    zeros(&mut bits, 138); // literals 1..=138
    zeros(&mut bits, 117); // literals 139..=255
    two(&mut bits); // 256 (end of block): length 2
    zeros(&mut bits, 28); // 257..=284
    bits.code(0b10, 2); // 285 (length 258): length 1
    bits.code(0b10, 2); // distance code 0 (distance 1): length 1
    // Literal/length codes: 285 -> 0, 0 -> 10, 256 -> 11. Distance 0 -> 0.
    bits.code(0b10, 2); // one literal zero
    for _ in 0..PAIRS {
        bits.code(0, 1);
        bits.code(0, 1);
    }
    bits.code(0b11, 2); // end of block
    let mut out = bits.finish();
    // CRC-32 of `total` zeros, combined from powers of two.
    let mut crc = flate2::Crc::new();
    let mut piece = flate2::Crc::new();
    piece.update(&[0u8; 1 << 16]);
    let mut remaining = total;
    let mut chunks = remaining >> 16;
    remaining &= (1 << 16) - 1;
    while chunks > 0 {
        if chunks & 1 == 1 {
            crc.combine(&piece);
        }
        let copy = {
            let mut c = flate2::Crc::new();
            c.combine(&piece);
            c
        };
        piece.combine(&copy);
        chunks >>= 1;
    }
    crc.update(&vec![0u8; remaining as usize]);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    (out, total)
}

#[test]
fn the_gzip_bomb_is_a_valid_gzip_of_zeros() {
    let (bomb, total) = gzip_bomb();
    assert!(bomb.len() < 1_100_000, "{} bytes", bomb.len());
    assert!(total > 1_000_000_000);
    let mut head = Vec::new();
    flate2::read::GzDecoder::new(&bomb[..])
        .take(8 << 20)
        .read_to_end(&mut head)
        .unwrap();
    assert_eq!(head.len(), 8 << 20);
    assert!(head.iter().all(|b| *b == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_and_the_extension_keeps_working_in_bounded_memory() {
    // At the default limits (4 MiB bodies, 32 MiB held).
    let (lambda, upstream, mut extension) = start_all(Reply::Accept, &[]);
    let before_kb = extension.process.status_kb("VmHWM").unwrap();
    let good = function_spans(&request_id(1), 0xbad, 3);
    let encoded = good.encode_to_vec();
    // 64 MiB of zeros, about 64 KB gzipped, as a compressor makes it.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let small_bomb = encoder.finish().unwrap();
    assert!(small_bomb.len() < 1 << 20);
    let (bomb, _) = gzip_bomb();
    // (what, content type, content encoding, body, expected status)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, u16);
    let cases: Vec<Case<'_>> = vec![
        (
            "truncated protobuf",
            "application/x-protobuf",
            None,
            encoded[..encoded.len() / 2].to_vec(),
            400,
        ),
        (
            "truncated protobuf tail",
            "application/x-protobuf",
            None,
            encoded[..encoded.len() - 3].to_vec(),
            400,
        ),
        (
            "invalid JSON",
            "application/json",
            None,
            br#"{"resourceSpans": [{"scopeSpans": "#.to_vec(),
            400,
        ),
        (
            "64 MiB of zeros gzipped",
            "application/x-protobuf",
            Some("gzip"),
            small_bomb,
            413,
        ),
        (
            "1 GiB gzip bomb",
            "application/x-protobuf",
            Some("gzip"),
            bomb,
            413,
        ),
        (
            "oversized body",
            "application/x-protobuf",
            None,
            vec![0u8; 5 << 20],
            413,
        ),
        (
            "wrong content type",
            "text/plain",
            None,
            encoded.clone(),
            415,
        ),
        (
            "unknown encoding",
            "application/x-protobuf",
            Some("br"),
            encoded.clone(),
            415,
        ),
        (
            "corrupt gzip",
            "application/x-protobuf",
            Some("gzip"),
            b"\x1f\x8bnot gzip".to_vec(),
            400,
        ),
    ];
    for (what, content_type, encoding, body, expected) in cases {
        let mut headers = vec![("content-type", content_type)];
        if let Some(encoding) = encoding {
            headers.push(("content-encoding", encoding));
        }
        let (status, _) = extension.post("/v1/traces", &headers, body).await;
        assert_eq!(status, expected, "{what}");
    }
    let protobuf = [("content-type", "application/x-protobuf")];
    let (wrong_path, _) = extension
        .post("/v1/profiles", &protobuf, encoded.clone())
        .await;
    assert_eq!(wrong_path, 404);

    // Still working: a good request, gzipped as exporters send it, is taken and forwarded.
    lambda.invoke_and_wait(invoke(&request_id(1)));
    let gzipped = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "gzip"),
    ];
    let (status, _) = extension.post("/v1/traces", &gzipped, gzip(&encoded)).await;
    assert_eq!(status, 200);
    lambda.wait_nexts(2);
    let after_kb = extension.process.status_kb("VmHWM").unwrap();
    assert!(
        after_kb < 64 * 1024,
        "peak resident memory {after_kb} KiB (was {before_kb} KiB before the bad input)"
    );
    assert_eq!(upstream.span_names(), ["orders", "step 1", "step 2"]);
    extension.shut_down(&lambda);
    assert_eq!(upstream.spans().len(), 3);
    assert_eq!(dropped(&upstream, "spans"), 0);
}

// ---------------------------------------------------------------------------------------------
// The upstream's answers.

#[test]
fn http_dates_are_formatted_as_imf_fixdate() {
    assert_eq!(
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_in_seconds_or_as_a_date_is_honoured_and_data_delivered_once() {
    let (lambda, upstream, mut extension) = start_all(
        Reply::Accept,
        &[
            ("FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS", "5000"),
            ("FAAS_OTEL_EXTENSION_COMPRESSION", "gzip"),
        ],
    );

    // 503 with Retry-After: 1, then 200.
    upstream.script([Reply::status(503).retry_after("1")]);
    let first = function_spans(&request_id(1), 1, 4);
    invocation(&lambda, &extension, &request_id(1), &first).await;
    lambda.wait_nexts(2);
    let attempts = trace_attempts(&upstream);
    let statuses: Vec<u16> = attempts.iter().map(|a| a.0).collect();
    assert_eq!(statuses, [503, 200]);
    let gap = attempts[1].1 - attempts[0].1;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert_eq!(upstream.spans().len(), 4);

    // 429 with an HTTP date two seconds ahead, then 200.
    let date = SystemTime::now() + Duration::from_secs(2);
    let not_before =
        UNIX_EPOCH + Duration::from_secs(date.duration_since(UNIX_EPOCH).unwrap().as_secs());
    upstream.script([Reply::status(429).retry_after(&httpdate::fmt_http_date(date))]);
    let second = function_spans(&request_id(2), 2, 4);
    invocation(&lambda, &extension, &request_id(2), &second).await;
    lambda.wait_nexts(3);
    let attempts = trace_attempts(&upstream);
    let statuses: Vec<u16> = attempts.iter().map(|a| a.0).collect();
    assert_eq!(statuses, [503, 200, 429, 200]);
    assert!(
        attempts[3].2 >= not_before,
        "retried at {:?}, Retry-After said {not_before:?}",
        attempts[3].2
    );

    extension.shut_down(&lambda);
    let spans = upstream.spans();
    assert_eq!(spans.len(), 8);
    let ids: HashSet<_> = spans.iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(ids.len(), 8);
    let traces: HashSet<_> = spans.iter().map(|s| s.trace_id.clone()).collect();
    assert_eq!(
        traces,
        HashSet::from([1u128.to_be_bytes().to_vec(), 2u128.to_be_bytes().to_vec()])
    );
    let requests = upstream.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.encoding.as_deref() == Some("gzip"))
    );
}

// ---------------------------------------------------------------------------------------------
// What ends the wait after INVOKE.

fn runtime_done(id: &str, status: &str) -> Vec<u8> {
    serde_json::json!([{
        "time": "2022-10-12T00:01:03.001Z",
        "type": "platform.runtimeDone",
        "record": { "requestId": id, "status": status, "metrics": { "durationMs": 12.0 } }
    }])
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocations_spans_reach_upstream_before_the_extension_asks_for_the_next_event() {
    let (lambda, upstream, mut extension) = start_all(
        Reply::Accept,
        // Longer than the test's patience: only the signals can end the waits below in time.
        &[("FAAS_OTEL_EXTENSION_WAIT_MS", "60000")],
    );
    for i in 0..5 {
        let id = request_id(i);
        let spans = function_spans(&id, 0xe000 + i as u128, 3);
        invocation(&lambda, &extension, &id, &spans).await;
        lambda.wait_nexts(i + 2);
    }
    // A function that does not mark its spans: `platform.runtimeDone` ends the wait.
    let id = request_id(5);
    let spans = unmarked(function_spans(&id, 0xe005, 2));
    invocation(&lambda, &extension, &id, &spans).await;
    assert_eq!(
        lambda.post_telemetry(runtime_done(&id, "success")).unwrap(),
        200
    );
    lambda.wait_nexts(7);
    assert_eq!(upstream.spans().len(), 17);

    let exported = spans_at(&upstream);
    for i in 0..5 {
        let id = request_id(i);
        let delivered = delivered_at(&lambda, &id);
        let next = nth_next_at(&lambda, i + 2);
        let export = exported
            .iter()
            .find(|(_, s)| invocation_of(s) == Some(id.as_str()))
            .unwrap()
            .0;
        assert!(
            delivered < export && export < next,
            "invocation {i}: INVOKE at {delivered:?}, export at {export:?}, /next at {next:?}"
        );
    }
    extension.shut_down(&lambda);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_any_signal_the_wait_ends_at_the_fallback_or_the_deadline() {
    let (lambda, upstream, mut extension) =
        start_all(Reply::Accept, &[("FAAS_OTEL_EXTENSION_WAIT_MS", "300")]);
    // Unmarked spans, no runtimeDone: exported after the 300 ms fallback wait.
    let spans = unmarked(function_spans(&request_id(1), 0xf001, 2));
    invocation(&lambda, &extension, &request_id(1), &spans).await;
    lambda.wait_nexts(2);
    let waited = nth_next_at(&lambda, 2) - delivered_at(&lambda, &request_id(1));
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert_eq!(upstream.spans().len(), 2);
    extension.shut_down(&lambda);

    // A wait longer than the invocation's deadline ends at the deadline.
    let (lambda, _upstream, mut extension) =
        start_all(Reply::Accept, &[("FAAS_OTEL_EXTENSION_WAIT_MS", "60000")]);
    lambda.invoke_and_wait(invoke(&request_id(2)).deadline_in(Duration::from_millis(500)));
    lambda.wait_nexts(2);
    extension.shut_down(&lambda);
}

// ---------------------------------------------------------------------------------------------
// Platform events.

const T_ERROR: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
/// The cost attributes for `billed_ms` at `memory_mb` with faas-aws's price plan.
fn cost(billed_ms: u64, memory_mb: u64) -> Vec<KeyValue> {
    cost_in(
        &Env::from_pairs([("AWS_REGION", "us-east-1")]),
        billed_ms,
        memory_mb,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_events_become_spans_joined_to_the_function_traces() {
    // Platform events only: function logs (on by default) are tests/function_logs.rs's.
    let (lambda, upstream, mut extension) =
        start_all(Reply::Accept, &[("FAAS_OTEL_EXTENSION_LOGS", "off")]);
    let subscription = &lambda.subscriptions()[0];
    assert_eq!(subscription["types"], serde_json::json!(["platform"]));
    assert_eq!(subscription["destination"]["protocol"], "HTTP");
    assert_eq!(
        lambda
            .post_telemetry(fixture_bytes("init-on-demand"))
            .unwrap(),
        200
    );

    for (n, (id, trace)) in [(REQ_TIMEOUT, T_TIMEOUT), (REQ_ERROR, T_ERROR)]
        .into_iter()
        .enumerate()
    {
        lambda.invoke_and_wait(invoke(id));
        let span = function_span(trace, 0x1000 + n as u64, id, 0);
        assert_eq!(
            extension.post_traces(&trace_request(vec![span])).await.0,
            200
        );
        let batch = if n == 0 {
            "invoke-timeout"
        } else {
            "invoke-error"
        };
        assert_eq!(lambda.post_telemetry(fixture_bytes(batch)).unwrap(), 200);
        lambda.wait_nexts(n + 2);
    }
    extension.shut_down(&lambda);

    let spans = upstream.spans();
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    assert_eq!(named("orders step 0").len(), 2);

    let init = named("platform init");
    assert_eq!(init.len(), 1);
    let init = init[0];
    assert_eq!(init.trace_id, T_TIMEOUT.to_be_bytes());
    assert!(init.parent_span_id.is_empty());
    assert_eq!(init.attributes, on_demand_init_attributes());
    assert_eq!(
        init.status.as_ref().unwrap().code,
        status::StatusCode::Ok as i32
    );

    let invokes = named("platform invoke");
    assert_eq!(invokes.len(), 2);
    for (id, trace, batch) in [
        (REQ_TIMEOUT, T_TIMEOUT, "invoke-timeout"),
        (REQ_ERROR, T_ERROR, "invoke-error"),
    ] {
        let invoke = invokes
            .iter()
            .find(|s| invocation_of(s) == Some(id))
            .unwrap();
        assert_eq!(invoke.trace_id, trace.to_be_bytes());
        assert!(invoke.parent_span_id.is_empty());
        assert_error_invoke(invoke, batch, cost);
    }
    // Nothing else: the function's two spans and three platform spans.
    assert_eq!(spans.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_sampling_waits_for_the_outcome_and_keeps_the_failed_invocation() {
    let (lambda, upstream, mut extension) = start_all(
        Reply::Accept,
        &[
            ("FAAS_OTEL_EXTENSION_KEEP", "decide"),
            // Sample nothing: only the rules keep a trace.
            ("FAAS_OTEL_EXTENSION_KEEP_RATE", "0"),
            // Longer than the test's patience: only runtimeDone can end the waits in time.
            ("FAAS_OTEL_EXTENSION_WAIT_MS", "60000"),
        ],
    );
    // The function's spans look fine; only the platform knows the invocation failed.
    for (i, status) in [(1, "error"), (2, "success")] {
        let id = request_id(i);
        let spans = function_spans(&id, 0x4ee0 + i as u128, 3);
        invocation(&lambda, &extension, &id, &spans).await;
        // The span alone does not end the wait: the sampler needs the outcome.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(lambda.nexts(), i, "still waiting for runtimeDone");
        assert_eq!(
            lambda.post_telemetry(runtime_done(&id, status)).unwrap(),
            200
        );
        lambda.wait_nexts(i + 1);
    }
    extension.shut_down(&lambda);
    let kept: HashSet<_> = upstream
        .spans()
        .iter()
        .filter(|s| !s.name.starts_with("platform "))
        .map(|s| s.trace_id.clone())
        .collect();
    assert_eq!(
        kept,
        HashSet::from([(0x4ee0_u128 + 1).to_be_bytes().to_vec()]),
        "the failed invocation's trace is kept, the successful one sampled out"
    );
}

// ---------------------------------------------------------------------------------------------
// OTLP/JSON and settings.

/// The example of the OTLP specification (`examples/trace.json`): hex ids, camelCase, 64-bit
/// integers as strings, enums as numbers; plus an int attribute and a status.
const OTLP_JSON: &str = r#"{
  "resourceSpans": [{
    "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "my.service" } }] },
    "scopeSpans": [{
      "scope": { "name": "my.library", "version": "1.0.0" },
      "spans": [{
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "parentSpanId": "EEE19B7EC3C1B173",
        "name": "I'm a server span",
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
        "kind": 2,
        "attributes": [
          { "key": "my.span.attr", "value": { "stringValue": "some value" } },
          { "key": "faas.invocation_id", "value": { "stringValue": "00000000-0000-4000-8000-000000000001" } },
          { "key": "http.response.status_code", "value": { "intValue": "200" } }
        ],
        "status": { "code": 2, "message": "boom" }
      }]
    }]
  }]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_is_accepted_and_forwarded_as_json_with_hex_ids_and_headers() {
    let (lambda, upstream, mut extension) = start_all(
        Reply::Accept,
        &[
            ("FAAS_OTEL_EXTENSION_PROTOCOL", "http/json"),
            ("FAAS_OTEL_EXTENSION_COMPRESSION", "none"),
            (
                "FAAS_OTEL_EXTENSION_HEADERS",
                "Authorization=Bearer%20s3cr3t-token,x-team=a%3Db",
            ),
        ],
    );
    lambda.invoke_and_wait(invoke(&request_id(1)));
    let response = extension
        .http
        .post(extension.url("/v1/traces"))
        .header("content-type", "application/json")
        .body(OTLP_JSON)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "a JSON request gets a JSON response"
    );
    let body: ExportTraceServiceResponse =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body.partial_success, None);
    lambda.wait_nexts(2);

    let spans = upstream.spans();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(
        span.trace_id,
        0x5b8efff798038103d269b633813fc60c_u128.to_be_bytes()
    );
    assert_eq!(span.span_id, 0xeee19b7ec3c1b174_u64.to_be_bytes());
    assert_eq!(span.parent_span_id, 0xeee19b7ec3c1b173_u64.to_be_bytes());
    assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(span.kind, 2);
    assert_eq!(span.status.as_ref().unwrap().code, 2);
    assert_eq!(
        str_attr(&span.attributes, "my.span.attr"),
        Some("some value")
    );
    let status_code = span
        .attributes
        .iter()
        .find(|kv| kv.key == "http.response.status_code")
        .and_then(|kv| kv.value.as_ref()?.value.clone());
    assert_eq!(status_code, Some(any_value::Value::IntValue(200)));

    let request = upstream
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/traces")
        .unwrap();
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(request.header("content-encoding").is_none());
    assert_eq!(request.header("authorization"), Some("Bearer s3cr3t-token"));
    assert_eq!(request.header("x-team"), Some("a=b"));
    let raw: Value = serde_json::from_slice(&request.body).unwrap();
    let raw_span = &raw["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(raw_span["traceId"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(raw_span["spanId"], "eee19b7ec3c1b174");
    assert_eq!(raw_span["startTimeUnixNano"], "1544712660000000000");

    extension.shut_down(&lambda);
    assert!(
        !extension.process.stderr().contains("s3cr3t"),
        "headers are never logged"
    );
}

/// What the extension logged with the scripted Lambda, as short names.
fn kinds(lambda: &ScriptedLambda) -> Vec<&'static str> {
    lambda
        .entries()
        .iter()
        .map(|l| match l.entry {
            Entry::Register { .. } => "register",
            Entry::Next { .. } => "next",
            Entry::Delivered { .. } => "delivered",
            Entry::Subscribe { .. } => "subscribe",
            Entry::InitError { .. } => "init error",
            Entry::ExitError { .. } => "exit error",
            Entry::TelemetryPosted { .. } => "telemetry",
            _ => "runtime",
        })
        .collect()
}

#[test]
fn a_bad_setting_is_reported_to_the_init_error_api_and_the_extension_exits_non_zero() {
    let lambda = ScriptedLambda::start().unwrap();
    // No upstream endpoint: registered, init error reported, nothing else.
    let mut extension = spawn(&lambda, None, &[]);
    let status = extension.wait_exit(PATIENCE).unwrap();
    assert!(!status.success(), "{status}");
    assert_eq!(status.code(), Some(1));
    assert_eq!(kinds(&lambda), ["register", "init error"]);
    assert_eq!(lambda.registrations().len(), 1);
    let init_errors = lambda.init_errors();
    assert_eq!(init_errors.len(), 1);
    let (error_type, body) = &init_errors[0];
    assert_eq!(error_type, "Extension.ConfigError");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["errorType"], "Extension.ConfigError");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("FAAS_OTEL_EXTENSION_ENDPOINT"),
        "{body}"
    );
    assert_eq!(lambda.nexts(), 0);
    assert!(lambda.subscriptions().is_empty());

    // A bad value: named, with the value, in the init error and on stderr.
    let endpoint = Some("http://127.0.0.1:1");
    let mut extension = spawn(
        &lambda,
        endpoint,
        &[("FAAS_OTEL_EXTENSION_PROTOCOL", "grpc")],
    );
    assert_eq!(extension.wait_exit(PATIENCE).unwrap().code(), Some(1));
    assert_eq!(kinds(&lambda)[2..], ["register", "init error"]);
    let (error_type, body) = &lambda.init_errors()[1];
    assert_eq!(error_type, "Extension.ConfigError");
    assert!(body.contains("FAAS_OTEL_EXTENSION_PROTOCOL"), "{body}");
    assert!(body.contains("grpc"), "{body}");
    assert!(extension.stderr().contains("FAAS_OTEL_EXTENSION_PROTOCOL"));

    // A secret in a malformed header list is never echoed.
    let headers = [("FAAS_OTEL_EXTENSION_HEADERS", "x-api-key=s3cr3t,broken")];
    let mut extension = spawn(&lambda, endpoint, &headers);
    assert_eq!(extension.wait_exit(PATIENCE).unwrap().code(), Some(1));
    assert!(extension.stderr().contains("FAAS_OTEL_EXTENSION_HEADERS"));
    assert!(!extension.stderr().contains("s3cr3t"));

    // Outside Lambda (no AWS_LAMBDA_RUNTIME_API): a clear error, no panic, nothing registered.
    let registrations = lambda.registrations().len();
    let mut extension = spawn(&lambda, endpoint, &[("AWS_LAMBDA_RUNTIME_API", "")]);
    assert_eq!(extension.wait_exit(PATIENCE).unwrap().code(), Some(1));
    assert!(extension.stderr().contains("AWS_LAMBDA_RUNTIME_API"));
    assert!(!extension.stderr().contains("panicked"));
    assert_eq!(lambda.registrations().len(), registrations);

    let init_errors = lambda.init_errors();
    assert_eq!(init_errors.len(), 3);
    assert!(!init_errors[2].1.contains("s3cr3t"));
}

// ---------------------------------------------------------------------------------------------
// OTLP/gRPC.

/// Spans sent with the generated OTLP gRPC client reach the upstream like spans sent over
/// OTLP/HTTP, and the memory cap answers with `partial_success` the same way.
#[cfg(feature = "grpc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_over_grpc_are_forwarded_and_the_cap_is_reported() {
    use faas_testkit::otlp::proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

    let one = trace_request(
        (0..10)
            .map(|j| function_span(1, j + 1, "earlier", j as usize))
            .collect(),
    );
    // The cap counts what is held: each request's bytes and its fixed overhead.
    let limit =
        (3 * (one.encoded_len() + faas_otel_extension::HELD_REQUEST_OVERHEAD) + 10).to_string();
    // The invocation's export waits for its own span however long the four requests take (on a
    // loaded machine the default 200 ms ran out between them, the export emptied the buffer and
    // nothing hit the cap).
    let (lambda, upstream, mut extension) = start_all(
        Reply::Accept,
        &[
            ("FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES", limit.as_str()),
            ("FAAS_OTEL_EXTENSION_WAIT_MS", "60000"),
        ],
    );
    let mut client = TraceServiceClient::connect(format!("http://{}", extension.grpc))
        .await
        .unwrap();
    lambda.invoke_and_wait(invoke("req-0"));
    let mut rejected = 0;
    for n in 0..4u64 {
        let request = trace_request(
            (0..10)
                .map(|j| function_span(1, n * 100 + j + 1, "earlier", j as usize))
                .collect(),
        );
        let response = client.export(request).await.unwrap().into_inner();
        if let Some(partial) = response.partial_success {
            rejected += partial.rejected_spans;
            assert!(partial.error_message.contains("memory cap"));
        }
    }
    // Three requests fit under the cap, the fourth is rejected whole.
    assert_eq!(rejected, 10);
    // The invocation's own span lets the extension export; the cap still rejects it, but its
    // invocation id is seen.
    let last = trace_request(vec![function_span(1, 999, "req-0", 0)]);
    let response = client.export(last).await.unwrap().into_inner();
    assert_eq!(response.partial_success.unwrap().rejected_spans, 1);
    lambda.wait_nexts(2);
    extension.shut_down(&lambda);

    let spans = upstream.spans();
    assert_eq!(spans.len(), 30);
    let ids: HashSet<Vec<u8>> = spans.iter().map(|s| s.span_id.clone()).collect();
    assert_eq!(ids.len(), 30);
    assert_eq!(dropped(&upstream, "spans"), 11);
}
