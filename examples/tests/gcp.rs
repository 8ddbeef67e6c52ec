//! The `gcp-http` example binary over real HTTP, against a fake GCP metadata server (written
//! from Google's documented protocol, faas-gcp/tests/support/metadata.rs) and a local
//! OTLP/HTTP collector whose requests are decoded with `opentelemetry-proto`.
#![allow(clippy::unwrap_used)]

#[path = "../../faas-core/tests/support/mod.rs"]
mod collector;
#[path = "../../faas-gcp/tests/support/mod.rs"]
mod gcp_support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gcp_support::metadata::{self, Metadata};
use gcp_support::otlp::{ResourceCollector, attr, hex};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const PRODUCER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(collector: &ResourceCollector, metadata_host: &str, port: u16) -> Function {
    let child = Command::new(env!("CARGO_BIN_EXE_gcp-http"))
        .env_clear()
        .env("PORT", port.to_string())
        .env("K_SERVICE", "hello")
        .env("K_REVISION", "hello-00001-abc")
        .env("K_CONFIGURATION", "hello")
        .env("GCE_METADATA_HOST", metadata_host)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("FAAS_OTEL_MEMORY_MB", "512")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Function(child)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Waits until the server accepts connections; returns how long that took.
async fn wait_listening(port: u16) -> Duration {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never listened"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requests_cloudevents_and_the_resource() {
    let fake = Metadata::start();
    let collector = ResourceCollector::start();
    let port = free_port();
    let mut function = start(&collector, &fake.host(), port);
    wait_listening(port).await;
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
    let (resource, span) = collector.wait_for("GET /hello", |_| true);
    for (key, value) in [
        ("cloud.provider", "gcp"),
        ("cloud.platform", "gcp_cloud_run"),
        ("faas.name", "hello"),
        ("faas.version", "hello-00001-abc"),
        ("faas.max_memory", "536870912"),
        ("cloud.account.id", metadata::PROJECT_ID),
        ("cloud.region", metadata::REGION),
        ("faas.instance", metadata::INSTANCE_ID),
        ("service.name", "hello"),
    ] {
        assert_eq!(
            attr(&resource, key).as_deref(),
            Some(value),
            "resource {key}"
        );
    }
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
    for (key, value) in [
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
    ] {
        assert_eq!(attr(&span.attributes, key).as_deref(), Some(value), "{key}");
    }
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
    let (_, span) = collector.wait_for("GET /hello", |s| {
        hex(&s.trace_id) == "105445aa7843bc8bf206b12000100000"
    });
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
    let (_, span) = collector.wait_for("GET /hello", |s| {
        attr(&s.attributes, "user_agent.original").as_deref() == Some("malformed")
    });
    assert!(span.parent_span_id.is_empty(), "{:?}", span.parent_span_id);
    assert_eq!(span.trace_id.len(), 16);
    assert_ne!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");

    // 4. Server error.
    let response = http.get(format!("{base}/fail")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let (_, span) = collector.wait_for("GET /fail", |_| true);
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
    let (_, span) = collector.wait_for("process orders", |_| true);
    assert_eq!(span.kind, SpanKind::Consumer as i32);
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
    for (key, value) in [
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
    ] {
        assert_eq!(attr(&span.attributes, key).as_deref(), Some(value), "{key}");
    }
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
    let (_, span) = collector.wait_for("hello", |s| {
        attr(&s.attributes, "faas.trigger").as_deref() == Some("datasource")
    });
    assert_eq!(span.kind, SpanKind::Server as i32);
    for (key, value) in [
        ("faas.document.collection", "photos"),
        ("faas.document.operation", "insert"),
        ("faas.document.name", "2026/cat.jpg"),
        ("faas.document.time", "2026-11-26T11:00:00.123Z"),
        ("faas.invocation_id", "storage-1"),
    ] {
        assert_eq!(attr(&span.attributes, key).as_deref(), Some(value), "{key}");
    }

    // 7. Not a CloudEvent: the extractor rejects it, still traced.
    let response = http.post(&base).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 400);

    // 8. SIGTERM: drains and exits 0.
    let pid = function.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = function.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_and_answers_within_one_second_when_the_metadata_server_stalls() {
    let stalling = Metadata::stalling();
    let collector = ResourceCollector::start();
    let port = free_port();
    let started = Instant::now();
    let _function = start(&collector, &stalling.host(), port);
    wait_listening(port).await;
    let response = client()
        .get(format!("http://127.0.0.1:{port}/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let (resource, _) = collector.wait_for("GET /hello", |_| true);
    assert_eq!(attr(&resource, "cloud.account.id"), None);
    assert_eq!(attr(&resource, "faas.name").as_deref(), Some("hello"));
}
