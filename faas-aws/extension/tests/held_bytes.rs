//! The held protobuf bytes end to end: the real binary, a scripted Lambda and the test kit's
//! OTLP receiver upstream. A memory cap of N bytes holds under a flood of tiny spans, every
//! drop counted; requests held apart are forwarded concatenated, with their exact spans and
//! resources.
#![allow(clippy::unwrap_used)]

mod harness;

use std::collections::BTreeMap;

use faas_otel_extension::HELD_REQUEST_OVERHEAD;
use faas_testkit::Reply;
use faas_testkit::otlp::proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::{self, OtlpReceiver, kv, str_attr};
use lambda_emulator::ScriptedLambda;
use prost::Message;

use harness::start_extension;

/// A request of one tiny span, the same size for every `i` (fixed-width ids, no name).
fn tiny(i: u64) -> ExportTraceServiceRequest {
    let span = Span {
        trace_id: u128::from(i + 1).to_be_bytes().to_vec(),
        span_id: (i + 1).to_be_bytes().to_vec(),
        ..Span::default()
    };
    otlp::trace_request(Vec::new(), vec![span])
}

fn dropped_spans(upstream: &OtlpReceiver) -> i64 {
    upstream.metric_sum("faas_otel.extension.dropped", "signal", "spans")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_of_n_bytes_holds_under_a_flood_of_tiny_spans_and_every_drop_is_counted() {
    const FIT: usize = 20;
    const SENT: u64 = 300;
    let size = tiny(0).encoded_len();
    assert!(size < 40, "a tiny span request is {size} bytes");
    // Room for FIT requests as held (bytes and overhead), not one more.
    let cap = FIT * (size + HELD_REQUEST_OVERHEAD) + HELD_REQUEST_OVERHEAD / 2;
    let lambda = ScriptedLambda::start().unwrap();
    // Down while the flood arrives: nothing leaves, what is held stays held.
    let upstream = OtlpReceiver::answering(Reply::status(503).retry_after("1")).unwrap();
    let mut extension = start_extension(
        &lambda,
        &upstream,
        &[
            ("FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES", &cap.to_string()),
            ("FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS", "200"),
        ],
    );
    let client = reqwest::Client::new();
    let mut rejected_at_receipt = 0i64;
    for i in 0..SENT {
        let response = client
            .post(format!("http://{}/v1/traces", extension.otlp))
            .header("content-type", "application/x-protobuf")
            .body(tiny(i).encode_to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer = faas_testkit::otlp::proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
            response.bytes().await.unwrap(),
        )
        .unwrap();
        rejected_at_receipt += answer.partial_success.map_or(0, |p| p.rejected_spans);
    }
    // At most FIT are held at any time, so at least SENT - FIT are refused at receipt.
    assert!(
        rejected_at_receipt >= (SENT - FIT as u64) as i64,
        "{rejected_at_receipt} refused"
    );
    upstream.set_default(Reply::Accept);
    extension.shut_down(&lambda);

    let delivered: Vec<Span> = upstream.spans();
    assert!(delivered.len() <= FIT, "{} delivered", delivered.len());
    assert!(!delivered.is_empty());
    // Each delivered span is one that was sent, once.
    let mut ids: Vec<Vec<u8>> = delivered.iter().map(|s| s.span_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), delivered.len());
    // Every span is delivered or counted as dropped, none both, none lost.
    let dropped = dropped_spans(&upstream);
    assert!(dropped >= rejected_at_receipt);
    assert_eq!(delivered.len() as i64 + dropped, SENT as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_held_apart_are_forwarded_concatenated_with_their_exact_spans() {
    let lambda = ScriptedLambda::start().unwrap();
    let upstream = OtlpReceiver::start().unwrap();
    let mut extension = start_extension(&lambda, &upstream, &[]);
    // Ten functions' requests (a service each, three spans each) between two exports.
    let mut sent: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for service in 0..10u64 {
        let spans: Vec<Span> = (0..3u64)
            .map(|i| Span {
                trace_id: u128::from(service + 1).to_be_bytes().to_vec(),
                span_id: (service * 10 + i + 1).to_be_bytes().to_vec(),
                name: format!("op {i}"),
                start_time_unix_nano: 1_700_000_000_000_000_000 + i,
                end_time_unix_nano: 1_700_000_000_001_000_000 + i,
                attributes: vec![kv("http.route", "/orders/{id}")],
                ..Span::default()
            })
            .collect();
        let name = format!("service-{service}");
        let request = otlp::trace_request(vec![kv("service.name", &name)], spans.clone());
        assert_eq!(extension.post_traces(&request).await.0, 200);
        sent.insert(name, spans);
    }
    extension.shut_down(&lambda);

    let traces: Vec<ExportTraceServiceRequest> = upstream.traces();
    // Fewer upstream requests than were received: held requests travel concatenated.
    assert!(traces.len() < 10, "{} upstream requests", traces.len());
    let mut received: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for request in &traces {
        for resource_spans in &request.resource_spans {
            let resource = resource_spans.resource.as_ref().unwrap();
            let name = str_attr(&resource.attributes, "service.name")
                .unwrap()
                .to_owned();
            let spans = received.entry(name).or_default();
            for scope_spans in &resource_spans.scope_spans {
                spans.extend(scope_spans.spans.iter().cloned());
            }
        }
    }
    assert_eq!(
        received, sent,
        "every span, exactly, under its own resource"
    );
}
