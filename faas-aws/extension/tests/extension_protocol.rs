//! `faas-otel-extension`, the real binary, at the edges of its protocols, over HTTP on
//! 127.0.0.1: a protocol-level fake of the Extensions and Telemetry APIs drives it
//! (`support_extension`), the test posts OTLP like a function's exporter, and a real OTLP
//! receiver upstream decodes what arrives. OTLP/JSON in and out (hex ids), a 1 GiB gzip bomb
//! and other bad bodies at the default limits, `Retry-After` as seconds and as an HTTP date,
//! what ends the wait after INVOKE (the invocation span, `platform.runtimeDone`, the fallback,
//! the invocation's deadline), keep rules waiting for the outcome, settings errors.
//! (`extension.rs` covers loss, the memory cap and platform spans.)
#![allow(clippy::unwrap_used)]

mod support_extension;

use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::common::v1::any_value;
use prost::Message;
use serde_json::Value;
use support_extension::{
    Entry, ExtensionProcess, FakeLambda, Log, Reply, Upstream, attr_str, function_spans,
    post_traces, start_all,
};

fn request_id(i: usize) -> String {
    format!("0e7d3c00-0000-4000-8000-{i:012}")
}

fn span_ids(upstream: &Upstream) -> Vec<Vec<u8>> {
    upstream.spans().into_iter().map(|s| s.span_id).collect()
}

/// A gzip member that inflates to about 1 GiB of zeros (1 + 258 × 4,161,790 bytes) from about
/// 1 MB: one dynamic-Huffman deflate block whose every (length 258, distance 1) pair costs two
/// bits.
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
    let (_log, lambda, upstream, mut extension) = start_all(&[]).await;
    let http = reqwest::Client::new();
    let before_kb = extension.status_kb("VmHWM");
    let good = function_spans(&request_id(1), 0xbad, 3);
    let encoded = good.encode_to_vec();
    let gzip = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, bytes).unwrap();
        encoder.finish().unwrap()
    };
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
            "invalid JSON",
            "application/json",
            None,
            br#"{"resourceSpans": [{"scopeSpans": "#.to_vec(),
            400,
        ),
        (
            "gzip bomb",
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
        let mut request = http
            .post(extension.url("/v1/traces"))
            .header("content-type", content_type)
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        let status = request.send().await.unwrap().status().as_u16();
        assert_eq!(status, expected, "{what}");
    }
    let wrong_path = http
        .post(extension.url("/v1/profiles"))
        .header("content-type", "application/x-protobuf")
        .body(encoded.clone())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(wrong_path, 404);

    // Still working: a good gzip request is accepted and forwarded.
    lambda.invoke_and_wait(&request_id(1)).await;
    let status = http
        .post(extension.url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip(&encoded))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 200);
    lambda.wait_for_nexts(2).await;
    let after_kb = extension.status_kb("VmHWM");
    assert!(
        after_kb < 64 * 1024,
        "peak resident memory {after_kb} KiB (was {before_kb} KiB before the bad input)"
    );
    let names: Vec<_> = upstream.spans().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["orders", "step 1", "step 2"]);
    lambda.shutdown(Duration::from_secs(2));
    assert_eq!(extension.wait_exit().await, Some(0));
}

/// `SystemTime` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        months[month as usize - 1],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn http_dates_are_formatted_as_imf_fixdate() {
    assert_eq!(
        http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_in_seconds_or_as_a_date_is_honoured_and_data_delivered_once() {
    let (_log, lambda, upstream, mut extension) =
        start_all(&[("FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS", "5000")]).await;
    let http = reqwest::Client::new();

    // 503 with Retry-After: 1, then 200.
    upstream.script([Reply {
        status: 503,
        retry_after: Some("1".into()),
    }]);
    lambda.invoke_and_wait(&request_id(1)).await;
    post_traces(&http, &extension, &function_spans(&request_id(1), 1, 4)).await;
    lambda.wait_for_nexts(2).await;
    let traces: Vec<_> = upstream
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/traces")
        .collect();
    assert_eq!(
        traces.iter().map(|r| r.status).collect::<Vec<_>>(),
        [503, 200]
    );
    let gap = traces[1].at - traces[0].at;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert_eq!(upstream.spans().len(), 4);

    // 429 with an HTTP date two seconds ahead, then 200.
    let date = SystemTime::now() + Duration::from_secs(2);
    let not_before =
        UNIX_EPOCH + Duration::from_secs(date.duration_since(UNIX_EPOCH).unwrap().as_secs());
    upstream.script([Reply {
        status: 429,
        retry_after: Some(http_date(date)),
    }]);
    lambda.invoke_and_wait(&request_id(2)).await;
    post_traces(&http, &extension, &function_spans(&request_id(2), 2, 4)).await;
    lambda.wait_for_nexts(3).await;
    let traces: Vec<_> = upstream
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/traces")
        .collect();
    assert_eq!(
        traces.iter().map(|r| r.status).collect::<Vec<_>>(),
        [503, 200, 429, 200]
    );
    assert!(
        traces[3].wall >= not_before,
        "retried at {:?}, Retry-After said {not_before:?}",
        traces[3].wall
    );
    let ids = span_ids(&upstream);
    assert_eq!(ids.len(), 8);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 8);

    lambda.shutdown(Duration::from_secs(2));
    assert_eq!(extension.wait_exit().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocations_spans_reach_upstream_before_the_extension_asks_for_the_next_event() {
    let (log, lambda, upstream, mut extension) = start_all(&[
        // Longer than the test's patience: only the signals can end the waits below in time.
        ("FAAS_OTEL_EXTENSION_WAIT_MS", "60000"),
    ])
    .await;
    let http = reqwest::Client::new();
    for i in 0..5 {
        let id = request_id(i);
        lambda.invoke_and_wait(&id).await;
        post_traces(
            &http,
            &extension,
            &function_spans(&id, 0xe000 + i as u128, 3),
        )
        .await;
        lambda.wait_for_nexts(i + 2).await;
    }
    // A function that does not mark its spans: `platform.runtimeDone` ends the wait.
    let id = request_id(5);
    lambda.invoke_and_wait(&id).await;
    let mut unmarked = function_spans(&id, 0xe005, 2);
    unmarked.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .clear();
    post_traces(&http, &extension, &unmarked).await;
    let runtime_done = serde_json::json!([{
        "time": "2022-10-12T00:01:03.001Z",
        "type": "platform.runtimeDone",
        "record": { "requestId": id, "status": "success", "metrics": { "durationMs": 12.0 } }
    }]);
    assert_eq!(lambda.post_platform(&runtime_done).await, 200);
    lambda.wait_for_nexts(7).await;
    assert_eq!(upstream.spans().len(), 17);

    let entries: Vec<Entry> = log.entries().into_iter().map(|(_, e)| e).collect();
    for i in 0..5 {
        let id = request_id(i);
        let delivered = entries
            .iter()
            .position(|e| *e == Entry::Delivered(id.clone()))
            .unwrap();
        let next = delivered
            + entries[delivered..]
                .iter()
                .position(|e| *e == Entry::Next)
                .unwrap();
        let exported = entries
            .iter()
            .position(|e| {
                matches!(e, Entry::Upstream { path, status: 200, invocation_ids }
                    if path == "/v1/traces" && invocation_ids.contains(&id))
            })
            .unwrap();
        assert!(
            delivered < exported && exported < next,
            "invocation {i}: INVOKE at {delivered}, export at {exported}, /next at {next}"
        );
    }
    lambda.shutdown(Duration::from_secs(2));
    assert_eq!(extension.wait_exit().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_any_signal_the_wait_ends_at_the_fallback_or_the_deadline() {
    let (log, lambda, upstream, mut extension) =
        start_all(&[("FAAS_OTEL_EXTENSION_WAIT_MS", "300")]).await;
    let http = reqwest::Client::new();
    // Unmarked spans, no runtimeDone: exported after the 300 ms fallback wait.
    lambda.invoke_and_wait(&request_id(1)).await;
    let mut unmarked = function_spans(&request_id(1), 0xf001, 2);
    unmarked.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .clear();
    post_traces(&http, &extension, &unmarked).await;
    lambda.wait_for_nexts(2).await;
    let entries = log.entries();
    let delivered = entries
        .iter()
        .find(|(_, e)| *e == Entry::Delivered(request_id(1)))
        .unwrap()
        .0;
    let next = entries
        .iter()
        .rev()
        .find(|(_, e)| *e == Entry::Next)
        .unwrap()
        .0;
    assert!(next - delivered >= Duration::from_millis(300));
    assert_eq!(upstream.spans().len(), 2);
    lambda.shutdown(Duration::from_secs(2));
    assert_eq!(extension.wait_exit().await, Some(0));

    // A wait longer than the invocation's deadline ends at the deadline.
    let (_log, lambda, _upstream, mut extension) =
        start_all(&[("FAAS_OTEL_EXTENSION_WAIT_MS", "60000")]).await;
    lambda
        .invoke_with_deadline(&request_id(2), Duration::from_millis(500))
        .await;
    lambda.wait_for_nexts(2).await;
    lambda.shutdown(Duration::from_secs(2));
    assert_eq!(extension.wait_exit().await, Some(0));
}

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
          { "key": "faas.invocation_id", "value": { "stringValue": "0e7d3c00-0000-4000-8000-000000000001" } },
          { "key": "http.response.status_code", "value": { "intValue": "200" } }
        ],
        "status": { "code": 2, "message": "boom" }
      }]
    }]
  }]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_is_accepted_and_forwarded_as_json_with_hex_ids_and_headers() {
    let (_log, lambda, upstream, mut extension) = start_all(&[
        ("FAAS_OTEL_EXTENSION_PROTOCOL", "http/json"),
        ("FAAS_OTEL_EXTENSION_COMPRESSION", "none"),
        (
            "FAAS_OTEL_EXTENSION_HEADERS",
            "Authorization=Bearer%20s3cr3t-token,x-team=a%3Db",
        ),
    ])
    .await;
    let http = reqwest::Client::new();
    lambda.invoke_and_wait(&request_id(1)).await;
    let response = http
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
    lambda.wait_for_nexts(2).await;

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
        attr_str(&span.attributes, "my.span.attr"),
        Some("some value")
    );
    let status_code = span
        .attributes
        .iter()
        .find(|kv| kv.key == "http.response.status_code")
        .and_then(|kv| kv.value.as_ref()?.value.clone());
    assert_eq!(status_code, Some(any_value::Value::IntValue(200)));

    let request = upstream
        .received()
        .into_iter()
        .find(|r| r.path == "/v1/traces")
        .unwrap();
    assert_eq!(request.headers["content-type"], "application/json");
    assert!(request.headers.get("content-encoding").is_none());
    assert_eq!(request.headers["authorization"], "Bearer s3cr3t-token");
    assert_eq!(request.headers["x-team"], "a=b");
    let raw: Value = serde_json::from_slice(&request.body).unwrap();
    let raw_span = &raw["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(raw_span["traceId"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(raw_span["spanId"], "eee19b7ec3c1b174");
    assert_eq!(raw_span["startTimeUnixNano"], "1544712660000000000");

    lambda.shutdown(Duration::from_secs(2));
    assert_eq!(extension.wait_exit().await, Some(0));
    assert!(
        !extension.stderr().contains("s3cr3t"),
        "headers are never logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_setting_is_reported_to_the_init_error_api_and_the_extension_exits_non_zero() {
    let log = std::sync::Arc::new(Log::default());
    let lambda = FakeLambda::start(log.clone()).await;
    let mut extension = ExtensionProcess::start(
        &lambda,
        "http://127.0.0.1:1",
        &[("FAAS_OTEL_EXTENSION_PROTOCOL", "grpc")],
    );
    assert_eq!(extension.wait_exit().await, Some(1));
    let entries: Vec<Entry> = log.entries().into_iter().map(|(_, e)| e).collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0], Entry::Register("faas-otel-extension".into()));
    let Entry::InitError(error_type, body) = &entries[1] else {
        panic!("{entries:?}")
    };
    assert_eq!(error_type, "Extension.ConfigError");
    assert!(body.contains("FAAS_OTEL_EXTENSION_PROTOCOL"), "{body}");
    assert!(body.contains("grpc"), "{body}");
    assert!(extension.stderr().contains("FAAS_OTEL_EXTENSION_PROTOCOL"));

    // A secret in a malformed header list is never echoed.
    let mut extension = ExtensionProcess::start(
        &lambda,
        "http://127.0.0.1:1",
        &[("FAAS_OTEL_EXTENSION_HEADERS", "x-api-key=s3cr3t,broken")],
    );
    assert_eq!(extension.wait_exit().await, Some(1));
    assert!(extension.stderr().contains("FAAS_OTEL_EXTENSION_HEADERS"));
    assert!(!extension.stderr().contains("s3cr3t"));

    // Outside Lambda (no AWS_LAMBDA_RUNTIME_API): a clear error, no panic, nothing registered.
    let registrations = log.count(|e| matches!(e, Entry::Register(_)));
    let mut extension = ExtensionProcess::start(
        &lambda,
        "http://127.0.0.1:1",
        &[("AWS_LAMBDA_RUNTIME_API", "")],
    );
    assert_eq!(extension.wait_exit().await, Some(1));
    assert!(extension.stderr().contains("AWS_LAMBDA_RUNTIME_API"));
    assert!(!extension.stderr().contains("panicked"));
    assert_eq!(
        log.count(|e| matches!(e, Entry::Register(_))),
        registrations
    );

    let init_errors: Vec<String> = log
        .entries()
        .into_iter()
        .filter_map(|(_, e)| match e {
            Entry::InitError(_, body) => Some(body),
            _ => None,
        })
        .collect();
    assert_eq!(init_errors.len(), 2);
    assert!(!init_errors[1].contains("s3cr3t"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_rules_wait_for_the_outcome_and_keep_the_failed_invocation() {
    let (_log, lambda, upstream, mut extension) = start_all(&[
        ("FAAS_OTEL_EXTENSION_KEEP", "decide"),
        // Sample nothing: only the rules keep a trace.
        ("FAAS_OTEL_EXTENSION_KEEP_RATE", "0"),
        // Longer than the test's patience: only runtimeDone can end the waits in time.
        ("FAAS_OTEL_EXTENSION_WAIT_MS", "60000"),
    ])
    .await;
    let http = reqwest::Client::new();
    let runtime_done = |id: &str, status: &str| {
        serde_json::json!([{
            "time": "2022-10-12T00:01:03.001Z",
            "type": "platform.runtimeDone",
            "record": { "requestId": id, "status": status, "metrics": { "durationMs": 12.0 } }
        }])
    };
    // The function's spans look fine; only the platform knows the invocation failed.
    for (i, status) in [(1, "error"), (2, "success")] {
        let id = request_id(i);
        lambda.invoke_and_wait(&id).await;
        post_traces(
            &http,
            &extension,
            &function_spans(&id, 0x4ee0 + i as u128, 3),
        )
        .await;
        // The span alone does not end the wait: the rules need the outcome.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(lambda.log.nexts(), i, "still waiting for runtimeDone");
        assert_eq!(lambda.post_platform(&runtime_done(&id, status)).await, 200);
        lambda.wait_for_nexts(i + 1).await;
    }
    lambda.shutdown(Duration::from_secs(2));
    assert_eq!(extension.wait_exit().await, Some(0));
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
