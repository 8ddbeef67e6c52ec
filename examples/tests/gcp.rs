//! The `gcp-http` example binary over real HTTP, against the test kit's fake GCP metadata
//! server (written from Google's documented protocol) and its OTLP/HTTP receiver, whose
//! requests are decoded with `opentelemetry-proto`.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use faas_testkit::gcp::{self as metadata, MetadataServer};
use faas_testkit::http_client;
use faas_testkit::otlp::proto::tonic::trace::v1::span::SpanKind;
use faas_testkit::otlp::{OtlpReceiver, ReceivedSpan, assert_attrs, attr, hex};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const PRODUCER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn client() -> reqwest::Client {
    http_client(Some(Duration::from_secs(5))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requests_cloudevents_and_the_resource() {
    let fake = MetadataServer::local().unwrap();
    let collector = OtlpReceiver::start().unwrap();
    let (mut function, port) = support::start_on_cloud_run(
        &collector,
        &fake.host(),
        &[("K_CONFIGURATION", "hello"), ("FAAS_OTEL_MEMORY_MB", "512")],
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = client();

    // 1. Cold, W3C parent, credentials sent but never recorded.
    let response = http
        .get(format!("{base}/hello?token=abc&x=1"))
        .header("traceparent", TRACEPARENT)
        .header("user-agent", "probe/1.0")
        .header("authorization", "Bearer secret-token")
        .header("cookie", "sid=secret-cookie")
        .header("x-api-key", "secret-key")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "hello");
    let ReceivedSpan { resource, span, .. } =
        collector.wait_for_span("GET /hello", |_| true).unwrap();
    assert_attrs(
        &resource,
        &[
            ("cloud.provider", "gcp"),
            ("cloud.platform", "gcp_cloud_run"),
            ("faas.name", "hello"),
            ("faas.version", "hello-00001-abc"),
            ("faas.max_memory", "536870912"),
            ("cloud.account.id", metadata::PROJECT_ID),
            ("cloud.region", metadata::REGION),
            ("faas.instance", metadata::INSTANCE_ID),
            ("service.name", "hello"),
        ],
    );
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
    assert_attrs(
        &span.attributes,
        &[
            ("faas.trigger", "http"),
            ("faas.coldstart", "true"),
            ("http.request.method", "GET"),
            ("http.route", "/hello"),
            ("url.path", "/hello"),
            ("url.query", "token=REDACTED&x=1"),
            ("url.scheme", "http"),
            ("user_agent.original", "probe/1.0"),
            ("server.address", "127.0.0.1"),
            ("server.port", &port.to_string()),
            ("http.response.status_code", "200"),
            ("faas_otel.cost.billed_memory_mb", "512"),
        ],
    );
    for kv in &span.attributes {
        let text = format!("{:?}", kv.value);
        assert!(!text.contains("secret"), "{} = {text}", kv.key);
    }

    // 2. Warm, parent from X-Cloud-Trace-Context with a decimal span id.
    let response = http
        .get(format!("{base}/hello"))
        .header(
            "x-cloud-trace-context",
            "105445aa7843bc8bf206b12000100000/1234567890123456789;o=1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let span = collector
        .wait_for_span("GET /hello", |s| {
            hex(&s.trace_id) == "105445aa7843bc8bf206b12000100000"
        })
        .unwrap()
        .span;
    assert_eq!(
        hex(&span.parent_span_id),
        format!("{:016x}", 1234567890123456789_u64)
    );
    assert_eq!(
        attr(&span.attributes, "faas.coldstart").as_deref(),
        Some("false")
    );

    // 3. Malformed headers: a fresh root.
    http.get(format!("{base}/hello"))
        .header("traceparent", "00-not-a-trace-01")
        .header("x-cloud-trace-context", "garbage/xyz;o=1")
        .header("user-agent", "malformed")
        .send()
        .await
        .unwrap();
    let span = collector
        .wait_for_span("GET /hello", |s| {
            attr(&s.attributes, "user_agent.original").as_deref() == Some("malformed")
        })
        .unwrap()
        .span;
    assert!(span.parent_span_id.is_empty(), "{:?}", span.parent_span_id);
    assert_eq!(span.trace_id.len(), 16);
    assert_ne!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");

    // 4. Server error.
    let response = http.get(format!("{base}/fail")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let span = collector.wait_for_span("GET /fail", |_| true).unwrap().span;
    assert_eq!(attr(&span.attributes, "error.type").as_deref(), Some("500"));
    assert_eq!(span.status.as_ref().unwrap().code, 2);

    // 5. Pub/Sub CloudEvent, binary mode, producer context in the message attributes.
    let data = serde_json::json!({
        "message": {
            "messageId": "9876543210",
            "publishTime": "2026-11-26T10:00:00Z",
            "data": "aGVsbG8=",
            "attributes": {"traceparent": PRODUCER}
        },
        "subscription": "projects/demo-project/subscriptions/orders-push"
    });
    let response = http
        .post(&base)
        .header("ce-id", "9876543210")
        .header(
            "ce-source",
            "//pubsub.googleapis.com/projects/demo-project/topics/orders",
        )
        .header("ce-type", "google.cloud.pubsub.topic.v1.messagePublished")
        .header("ce-specversion", "1.0")
        .header("ce-time", "2026-11-26T10:00:00Z")
        .header("content-type", "application/json")
        .header("traceparent", TRACEPARENT)
        .body(data.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let span = collector
        .wait_for_span("process orders", |_| true)
        .unwrap()
        .span;
    assert_eq!(span.kind, SpanKind::Consumer as i32);
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
    assert_attrs(
        &span.attributes,
        &[
            ("faas.trigger", "pubsub"),
            ("faas.invocation_id", "9876543210"),
            ("messaging.system", "gcp_pubsub"),
            ("messaging.operation.name", "process"),
            ("messaging.operation.type", "process"),
            ("messaging.destination.name", "orders"),
            ("messaging.message.id", "9876543210"),
            ("messaging.destination.subscription.name", "orders-push"),
            (
                "cloudevents.event_type",
                "google.cloud.pubsub.topic.v1.messagePublished",
            ),
            ("http.response.status_code", "204"),
        ],
    );
    assert_eq!(span.links.len(), 1);
    assert_eq!(
        hex(&span.links[0].trace_id),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(hex(&span.links[0].span_id), "00f067aa0ba902b7");

    // 6. Cloud Storage CloudEvent, structured mode.
    let event = serde_json::json!({
        "specversion": "1.0",
        "id": "storage-1",
        "source": "//storage.googleapis.com/projects/_/buckets/photos",
        "type": "google.cloud.storage.object.v1.finalized",
        "subject": "objects/2026/cat.jpg",
        "time": "2026-11-26T11:00:00.123Z",
        "datacontenttype": "application/json",
        "data": {"bucket": "photos", "name": "2026/cat.jpg"}
    });
    let response = http
        .post(&base)
        .header("content-type", "application/cloudevents+json")
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let span = collector
        .wait_for_span("hello", |s| {
            attr(&s.attributes, "faas.trigger").as_deref() == Some("datasource")
        })
        .unwrap()
        .span;
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_attrs(
        &span.attributes,
        &[
            ("faas.document.collection", "photos"),
            ("faas.document.operation", "insert"),
            ("faas.document.name", "2026/cat.jpg"),
            ("faas.document.time", "2026-11-26T11:00:00.123Z"),
            ("faas.invocation_id", "storage-1"),
        ],
    );

    // 7. Not a CloudEvent: the extractor rejects it, still traced.
    let response = http.post(&base).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 400);

    // 8. SIGTERM: drains and exits 0.
    let status = function
        .terminate_and_wait_async(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}
