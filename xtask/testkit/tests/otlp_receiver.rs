//! The OTLP receiver over real HTTP: both encodings, gzip, every scripted reply, the shared
//! sequence, and the readers.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::time::Duration;

use faas_testkit::otlp::proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use faas_testkit::otlp::proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::{
    Format, OtlpReceiver, Payload, attr, hex, int_attr, kv, str_attr, trace_request,
};
use faas_testkit::{Listener, RefusedPort, Reply, Sequence, http_client};
use prost::Message;

fn request(names: &[&str]) -> ExportTraceServiceRequest {
    let spans = names
        .iter()
        .map(|name| Span {
            name: (*name).to_owned(),
            trace_id: vec![0xab; 16],
            span_id: vec![0x01; 8],
            attributes: vec![kv("faas.invocation_id", name)],
            ..Span::default()
        })
        .collect();
    trace_request(vec![kv("service.name", "orders")], spans)
}

fn client() -> reqwest::Client {
    http_client(Some(Duration::from_secs(5))).unwrap()
}

async fn post(
    receiver: &OtlpReceiver,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>, reqwest::header::HeaderMap), reqwest::Error> {
    let mut builder = client()
        .post(format!("{}{path}", receiver.url()))
        .body(body);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = builder.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Ok((status, response.bytes().await?.to_vec(), headers))
}

const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");

/// POSTs a protobuf trace request of spans named `names`; status, body and headers.
async fn post_protobuf(
    receiver: &OtlpReceiver,
    names: &[&str],
) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
    let body = request(names).encode_to_vec();
    post(receiver, "/v1/traces", &[PROTOBUF], body)
        .await
        .unwrap()
}
const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn decodes_protobuf_json_and_gzip() {
    let receiver = OtlpReceiver::start().unwrap();
    post_protobuf(&receiver, &["a"]).await;
    let json = serde_json::to_vec(&request(&["b"])).unwrap();
    post(&receiver, "/v1/traces", &[JSON], json).await.unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&request(&["c"]).encode_to_vec()).unwrap();
    post(
        &receiver,
        "/v1/traces",
        &[PROTOBUF, ("content-encoding", "gzip")],
        gz.finish().unwrap(),
    )
    .await
    .unwrap();
    let logs = serde_json::to_vec(&ExportLogsServiceRequest::default()).unwrap();
    post(&receiver, "/v1/logs", &[JSON], logs).await.unwrap();

    assert_eq!(receiver.span_names(), ["a", "b", "c"]);
    let requests = receiver.requests();
    assert_eq!(requests[1].format, Format::Json);
    assert_eq!(requests[2].encoding.as_deref(), Some("gzip"));
    assert!(matches!(requests[3].payload, Payload::Logs(_)));
    assert_eq!(
        receiver.paths(),
        ["/v1/traces", "/v1/traces", "/v1/traces", "/v1/logs"]
    );
    assert!(receiver.invalid().is_empty());
    let found = receiver.wait_for_span("b", |_| true).unwrap();
    assert_eq!(
        attr(&found.resource, "service.name").as_deref(),
        Some("orders")
    );
    assert_eq!(
        str_attr(&found.span.attributes, "faas.invocation_id"),
        Some("b")
    );
    assert_eq!(int_attr(&found.span.attributes, "faas.invocation_id"), None);
    assert_eq!(hex(&found.span.span_id), "0101010101010101");
    assert_eq!(receiver.spans_with("faas.invocation_id", "c").len(), 1);
}

#[tokio::test]
async fn answers_in_the_request_encoding_and_reports_partial_success() {
    let receiver = OtlpReceiver::builder()
        .script([Reply::partial_success(2, "too old")])
        .start()
        .unwrap();
    let (status, body, headers) = post_protobuf(&receiver, &["a"]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let response = ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
    let partial = response.partial_success.unwrap();
    assert_eq!(
        (partial.rejected_spans, partial.error_message.as_str()),
        (2, "too old")
    );
    let json = serde_json::to_vec(&request(&["b"])).unwrap();
    let (status, body, headers) = post(&receiver, "/v1/traces", &[JSON], json).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let _: ExportTraceServiceResponse = serde_json::from_slice(&body).unwrap();
    // Partially accepted spans still count as received.
    assert_eq!(receiver.span_count(), 2);
}

#[tokio::test]
async fn follows_the_script_then_the_default() {
    let receiver = OtlpReceiver::builder()
        .default_reply(Reply::status(500))
        .script([
            Reply::status(503).retry_after("1").body("try later"),
            Reply::Accept,
        ])
        .start()
        .unwrap();
    let body = || request(&["x"]).encode_to_vec();
    let (status, text, headers) = post(&receiver, "/v1/traces", &[PROTOBUF], body())
        .await
        .unwrap();
    assert_eq!((status, text.as_slice()), (503, b"try later".as_slice()));
    assert_eq!(headers["retry-after"], "1");
    let (status, ..) = post(&receiver, "/v1/traces", &[PROTOBUF], body())
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, ..) = post(&receiver, "/v1/traces", &[PROTOBUF], body())
        .await
        .unwrap();
    assert_eq!(status, 500);
    receiver.script([Reply::Accept]);
    let (status, ..) = post(&receiver, "/v1/traces", &[PROTOBUF], body())
        .await
        .unwrap();
    assert_eq!(status, 200);
    let statuses: Vec<_> = receiver.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(200), Some(500), Some(200)]);
    // Only the accepted requests' spans are read back.
    assert_eq!(receiver.span_count(), 2);
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_logged_and_answered_400() {
    let receiver = OtlpReceiver::start().unwrap();
    let (status, ..) = post(&receiver, "/v1/traces", &[PROTOBUF], b"\xff\xff".to_vec())
        .await
        .unwrap();
    assert_eq!(status, 400);
    let (status, ..) = post(
        &receiver,
        "/v1/metrics",
        &[("content-type", "text/plain")],
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(status, 400);
    assert_eq!(receiver.invalid().len(), 2);
    assert_eq!(receiver.span_count(), 0);
}

#[tokio::test]
async fn closes_or_stalls_when_told() {
    let receiver = OtlpReceiver::builder()
        .script([Reply::Close, Reply::Stall])
        .start()
        .unwrap();
    let body = || request(&["x"]).encode_to_vec();
    assert!(
        post(&receiver, "/v1/traces", &[PROTOBUF], body())
            .await
            .is_err()
    );
    let stalled = tokio::time::timeout(
        Duration::from_millis(300),
        post(&receiver, "/v1/traces", &[PROTOBUF], body()),
    )
    .await;
    assert!(stalled.is_err(), "answered: {stalled:?}");
    let statuses: Vec<_> = receiver.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [None, None]);
}

#[tokio::test]
async fn a_refused_port_refuses() {
    let refused = RefusedPort::new().unwrap();
    let error = client().get(refused.url()).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
}

#[tokio::test]
async fn shares_one_sequence_and_takes_a_bound_tokio_listener() {
    let sequence = Sequence::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first = OtlpReceiver::builder()
        .listener(listener)
        .sequence(sequence.clone())
        .start()
        .unwrap();
    assert_eq!(first.addr(), addr);
    let second = OtlpReceiver::builder()
        .listener(Listener::local().unwrap())
        .sequence(sequence.clone())
        .start()
        .unwrap();
    let body = || request(&["x"]).encode_to_vec();
    post(&first, "/v1/traces", &[PROTOBUF], body())
        .await
        .unwrap();
    let between = sequence.tick();
    post(&second, "/v1/traces", &[PROTOBUF], body())
        .await
        .unwrap();
    assert!(first.requests()[0].seq < between);
    assert!(between < second.requests()[0].seq);
    assert_eq!(second.received_spans()[0].seq, second.requests()[0].seq);
}

#[tokio::test]
async fn count_only_keeps_counts() {
    let receiver = OtlpReceiver::start().unwrap();
    receiver.count_only();
    for _ in 0..3 {
        post(
            &receiver,
            "/v1/traces",
            &[PROTOBUF],
            request(&["a", "b"]).encode_to_vec(),
        )
        .await
        .unwrap();
    }
    let (spans, last) = receiver.counted();
    assert_eq!(spans, 6);
    assert!(last.is_some());
    assert_eq!(receiver.request_count(), 0);
}

#[test]
fn serves_a_plain_test_and_waits_with_a_bound() {
    let receiver = OtlpReceiver::start().unwrap();
    let error = receiver
        .wait_for_spans(1, Duration::from_millis(50))
        .unwrap_err();
    assert!(error.to_string().contains("1 spans"), "{error}");
    let (status, _) = faas_testkit::http_request(
        receiver.addr(),
        "POST",
        "/v1/unknown",
        Some("{}"),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(receiver.requests()[0].payload, Payload::NotOtlp);
    assert_eq!(receiver.connections(), 1);
}
