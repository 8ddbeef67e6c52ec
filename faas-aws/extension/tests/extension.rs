//! The real `faas-otel-extension` binary end to end: a protocol-level fake of the Lambda
//! Extensions and Telemetry APIs drives its lifecycle, the test plays the function (OTLP/HTTP
//! protobuf to the extension's loopback receiver) and a real OTLP receiver plays the upstream.
//! See `extension_support` for the fakes.
#![allow(clippy::unwrap_used)]

mod extension_support;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::time::Duration;

use extension_support::{
    Clock, ExtensionProcess, LambdaApi, Mode, Upstream, function_span, str_attr, trace_request,
};
use faas_core::cost::{Architecture, BillingInput, CostModel};
use faas_core::env::Env;
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::trace::v1::{Span, status};
use opentelemetry_proto::transform::common::tonic::Attributes;
use prost::Message;

const TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

fn request_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// The function's 10 spans of invocation `i` (trace `i + 1`, span ids `i * 16 + j + 1`).
fn invocation_request(
    i: usize,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    let id = request_id(i);
    trace_request(
        (0..10)
            .map(|j| function_span(i as u128 + 1, (i * 16 + j + 1) as u64, &id, j))
            .collect(),
    )
}

fn invocation_of(span: &Span) -> Option<&str> {
    str_attr(&span.attributes, "faas.invocation_id")
}

async fn setup(mode: Mode, extra: &[(&str, &str)]) -> (LambdaApi, Upstream, ExtensionProcess) {
    let clock = Clock::default();
    let api = LambdaApi::start(clock.clone()).await;
    let upstream = Upstream::start(clock, mode).await;
    let extension = ExtensionProcess::spawn(&api, Some(&upstream), extra);
    // The receiver listens before the extension registers, so after the first `next` call
    // (registered and subscribed) everything is up.
    api.wait_next_calls(1).await;
    (api, upstream, extension)
}

async fn shutdown(api: &LambdaApi, extension: &mut ExtensionProcess) {
    api.shutdown();
    let status = extension.wait_exit().await;
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_spans_over_a_thousand_invocations_arrive_exactly_once() {
    let (api, upstream, mut extension) = setup(Mode::Accept, &[]).await;
    assert_eq!(
        api.log().registrations,
        [(
            "faas-otel-extension".to_owned(),
            serde_json::json!(["INVOKE", "SHUTDOWN"])
        )]
    );
    for i in 0..1000 {
        let id = request_id(i);
        api.invoke(&id, TRACE_HEADER);
        api.wait_delivered(i + 1).await;
        let (status, body) = extension.post_traces(&invocation_request(i)).await;
        assert_eq!(status, 200);
        let response = ExportTraceServiceResponse::decode(body).unwrap();
        assert_eq!(response.partial_success, None);
        let next = api.wait_next_calls(i + 2).await;
        if i < 5 {
            // Below the periodic threshold the extension exports before asking for more.
            let log = upstream.log();
            let before: Vec<u64> = log
                .spans()
                .into_iter()
                .filter(|(_, s)| invocation_of(s) == Some(id.as_str()))
                .map(|(seq, _)| seq)
                .collect();
            assert_eq!(before.len(), 10, "invocation {i}");
            assert!(before.iter().all(|seq| *seq < next), "invocation {i}");
        }
    }
    shutdown(&api, &mut extension).await;

    let log = upstream.log();
    let spans = log.spans();
    assert_eq!(spans.len(), 10_000);
    let ids: HashSet<Vec<u8>> = spans.iter().map(|(_, s)| s.span_id.clone()).collect();
    assert_eq!(ids.len(), 10_000);
    let mut per_invocation: BTreeMap<String, usize> = BTreeMap::new();
    for (_, span) in &spans {
        *per_invocation
            .entry(invocation_of(span).unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_invocation.len(), 1000);
    assert!(per_invocation.values().all(|n| *n == 10));
    assert!(log.attempts.iter().all(|a| a.status == 200));
    assert_eq!(log.dropped("spans"), 0);
    assert!(log.encodings.iter().all(String::is_empty));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_cap_while_upstream_is_down_is_rejected_counted_and_the_rest_delivered() {
    let size = invocation_request(0).encoded_len();
    let limit = (15 * size + 10).to_string();
    let (api, upstream, mut extension) = setup(
        Mode::Refuse,
        &[
            ("FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES", &limit),
            ("FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS", "300"),
        ],
    )
    .await;
    // 30 requests of 10 spans between invocations: 15 fit, 15 are rejected.
    let mut rejected = 0;
    for n in 0..30 {
        let request = invocation_request(n);
        assert_eq!(request.encoded_len(), size);
        let (status, body) = extension.post_traces(&request).await;
        assert_eq!(status, 200);
        let response = ExportTraceServiceResponse::decode(body).unwrap();
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
    api.invoke(&request_id(0), TRACE_HEADER);
    api.wait_next_calls(2).await;
    {
        let log = upstream.log();
        assert!(!log.attempts.is_empty());
        assert!(log.attempts.iter().all(|a| a.status == 503));
    }

    // The upstream recovers; the next invocation delivers everything accepted.
    upstream.set_mode(Mode::Accept);
    api.invoke(&request_id(1), TRACE_HEADER);
    api.wait_next_calls(3).await;
    shutdown(&api, &mut extension).await;

    let log = upstream.log();
    let spans = log.spans();
    assert_eq!(spans.len(), 150);
    let delivered: HashSet<&str> = spans.iter().filter_map(|(_, s)| invocation_of(s)).collect();
    let expected: Vec<String> = (0..15).map(request_id).collect();
    assert_eq!(
        delivered,
        expected.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    assert_eq!(log.dropped("spans"), 150);
    assert_eq!(log.dropped("metric_points"), 0);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_and_leaves_the_extension_working_and_small() {
    let (api, upstream, mut extension) = setup(
        Mode::Accept,
        &[("FAAS_OTEL_EXTENSION_MAX_BODY_BYTES", "1048576")],
    )
    .await;
    let protobuf = [("content-type", "application/x-protobuf")];
    let good = invocation_request(0).encode_to_vec();

    let truncated = good[..good.len() - 3].to_vec();
    assert_eq!(
        extension.post("/v1/traces", &protobuf, truncated).await.0,
        400
    );
    let json = [("content-type", "application/json")];
    assert_eq!(
        extension
            .post("/v1/traces", &json, b"{\"resourceSpans\": [".to_vec())
            .await
            .0,
        400
    );
    // 64 MiB of zeros, about 64 KB gzipped.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let gzipped = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "gzip"),
    ];
    assert_eq!(extension.post("/v1/traces", &gzipped, bomb).await.0, 413);
    assert_eq!(
        extension
            .post("/v1/traces", &protobuf, vec![0u8; 2 << 20])
            .await
            .0,
        413
    );
    assert_eq!(
        extension
            .post(
                "/v1/traces",
                &[("content-type", "text/plain")],
                good.clone()
            )
            .await
            .0,
        415
    );
    // A good request, gzipped as exporters send it, is taken and forwarded.
    assert_eq!(
        extension.post("/v1/traces", &gzipped, gzip(&good)).await.0,
        200
    );
    api.invoke(&request_id(0), TRACE_HEADER);
    api.wait_next_calls(2).await;
    assert_eq!(upstream.log().spans().len(), 10);

    let peak = extension.peak_rss();
    assert!(peak < 64 << 20, "VmHWM {peak} bytes");
    shutdown(&api, &mut extension).await;
    let log = upstream.log();
    assert_eq!(log.spans().len(), 10);
    assert_eq!(log.dropped("spans"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_the_batch_delivered_once() {
    let (api, upstream, mut extension) = setup(
        Mode::RefuseOnce,
        &[("FAAS_OTEL_EXTENSION_COMPRESSION", "gzip")],
    )
    .await;
    api.invoke(&request_id(7), TRACE_HEADER);
    api.wait_delivered(1).await;
    assert_eq!(extension.post_traces(&invocation_request(7)).await.0, 200);
    api.wait_next_calls(2).await;
    {
        let log = upstream.log();
        let attempts: Vec<_> = log
            .attempts
            .iter()
            .filter(|a| a.path == "/v1/traces")
            .collect();
        assert_eq!(attempts.len(), 2);
        assert_eq!((attempts[0].status, attempts[1].status), (503, 200));
        assert!(
            attempts[1].at.duration_since(attempts[0].at) >= Duration::from_secs(1),
            "the second attempt waited for Retry-After"
        );
    }
    shutdown(&api, &mut extension).await;
    let log = upstream.log();
    let spans = log.spans();
    assert_eq!(spans.len(), 10);
    assert!(
        spans
            .iter()
            .all(|(_, s)| invocation_of(s) == Some(request_id(7).as_str()))
    );
    assert!(log.encodings.iter().all(|e| e == "gzip"));
}

const REQ_TIMEOUT: &str = "c7a1f0e2-7c0f-4a4e-9f55-1d0f6b0d3e11";
const REQ_ERROR: &str = "e1b2c3d4-0000-4000-8000-00000000e770";
const T_TIMEOUT: u128 = 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c;
const T_ERROR: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
const MIB: i64 = 1_048_576;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/telemetry/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn proto(kvs: Vec<KeyValue>) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    Attributes::from(kvs).0
}

/// The cost attributes for `billed_ms` at `memory_mb` with the default price plan.
fn cost(billed_ms: u64, memory_mb: u64) -> Vec<KeyValue> {
    faas_aws::pricing::lambda_plan()
        .with_overrides(&Env::from_pairs([("AWS_REGION", "us-east-1")]))
        .unwrap()
        .estimate(
            &BillingInput::new(Duration::from_millis(billed_ms), memory_mb)
                .with_architecture(Architecture::current()),
        )
        .attributes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_events_become_spans_joined_to_the_function_traces() {
    let (api, upstream, mut extension) = setup(Mode::Accept, &[]).await;
    {
        let log = api.log();
        let subscription = &log.subscriptions[0];
        assert_eq!(subscription["types"], serde_json::json!(["platform"]));
        assert_eq!(subscription["destination"]["protocol"], "HTTP");
    }
    assert_eq!(
        api.post_platform_events(&fixture("init-on-demand")).await,
        200
    );

    for (n, (id, trace)) in [(REQ_TIMEOUT, T_TIMEOUT), (REQ_ERROR, T_ERROR)]
        .into_iter()
        .enumerate()
    {
        api.invoke(id, TRACE_HEADER);
        api.wait_delivered(n + 1).await;
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
        assert_eq!(api.post_platform_events(&fixture(batch)).await, 200);
        api.wait_next_calls(n + 2).await;
    }
    shutdown(&api, &mut extension).await;

    let log = upstream.log();
    let spans: Vec<Span> = log.spans().into_iter().map(|(_, s)| s).collect();
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    assert_eq!(named("orders step 0").len(), 2);

    let init = named("platform init");
    assert_eq!(init.len(), 1);
    let init = init[0];
    assert_eq!(init.trace_id, T_TIMEOUT.to_be_bytes());
    assert!(init.parent_span_id.is_empty());
    assert_eq!(
        init.attributes,
        proto(vec![
            KeyValue::new("faas_otel.init.type", "on-demand"),
            KeyValue::new("faas_otel.init.phase", "init"),
            KeyValue::new("faas_otel.init.duration_s", 0.12533),
            KeyValue::new("faas.coldstart", true),
        ])
    );
    assert_eq!(
        init.status.as_ref().unwrap().code,
        status::StatusCode::Ok as i32
    );

    let invokes = named("platform invoke");
    assert_eq!(invokes.len(), 2);
    let timeout = invokes
        .iter()
        .find(|s| invocation_of(s) == Some(REQ_TIMEOUT))
        .unwrap();
    assert_eq!(timeout.trace_id, T_TIMEOUT.to_be_bytes());
    assert!(timeout.parent_span_id.is_empty());
    let mut expected = vec![
        KeyValue::new("faas.invocation_id", REQ_TIMEOUT),
        KeyValue::new("faas.max_memory", 128 * MIB),
        KeyValue::new("faas_otel.memory.max_used_bytes", 64 * MIB),
    ];
    expected.extend(cost(3000, 128));
    expected.push(KeyValue::new("error.type", "timeout"));
    assert_eq!(timeout.attributes, proto(expected));
    let timeout_status = timeout.status.as_ref().unwrap();
    assert_eq!(timeout_status.code, status::StatusCode::Error as i32);
    assert_eq!(timeout_status.message, "Sandbox.Timedout");

    let error = invokes
        .iter()
        .find(|s| invocation_of(s) == Some(REQ_ERROR))
        .unwrap();
    assert_eq!(error.trace_id, T_ERROR.to_be_bytes());
    assert!(error.parent_span_id.is_empty());
    let mut expected = vec![
        KeyValue::new("faas.invocation_id", REQ_ERROR),
        KeyValue::new("faas.max_memory", 512 * MIB),
        KeyValue::new("faas_otel.memory.max_used_bytes", 87 * MIB),
    ];
    expected.extend(cost(46, 512));
    expected.push(KeyValue::new("error.type", "Runtime.HandlerError"));
    assert_eq!(error.attributes, proto(expected));
    assert_eq!(
        error.status.as_ref().unwrap().code,
        status::StatusCode::Error as i32
    );
    // Nothing else: the function's two spans and three platform spans.
    assert_eq!(spans.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_configuration_is_reported_as_an_init_error() {
    let api = LambdaApi::start(Clock::default()).await;
    let mut extension = ExtensionProcess::spawn(&api, None, &[]);
    let status = extension.wait_exit().await;
    assert!(!status.success(), "{status}");
    let log = api.log();
    assert_eq!(log.registrations.len(), 1);
    assert_eq!(log.init_errors.len(), 1);
    let (error_type, body) = &log.init_errors[0];
    assert_eq!(error_type, "Extension.ConfigError");
    assert_eq!(body["errorType"], "Extension.ConfigError");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("FAAS_OTEL_EXTENSION_ENDPOINT"),
        "{body}"
    );
    assert!(log.next_calls.is_empty());
    assert!(log.subscriptions.is_empty());
}
