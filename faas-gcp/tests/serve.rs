//! `serve_on` in-process, over real HTTP, with the test kit's fake metadata server (written
//! from Google's documented protocol) and its OTLP/HTTP receiver.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use faas_core::env::Env;
use faas_gcp::{Server, build_telemetry};
use faas_testkit::gcp::{self as metadata, MetadataServer};
use faas_testkit::otlp::{OtlpReceiver, ReceivedSpan, assert_attrs, attr};
use faas_testkit::{Serving, http_client};
use opentelemetry::{Key, Value};
use tokio::net::TcpListener;

fn resource_value(telemetry: &faas_core::pipeline::Telemetry, key: &str) -> Option<Value> {
    telemetry.resource().get(&Key::from(key.to_owned()))
}

#[tokio::test]
async fn resource_comes_from_the_metadata_server() {
    let fake = MetadataServer::local().unwrap();
    let env = Env::from_pairs([
        ("K_SERVICE", "hello"),
        ("K_REVISION", "hello-00001-abc"),
        ("GCE_METADATA_HOST", fake.host().as_str()),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]);
    let telemetry = build_telemetry(&env).await.unwrap();
    let expected = [
        ("cloud.provider", "gcp"),
        ("cloud.platform", "gcp_cloud_run"),
        ("faas.name", "hello"),
        ("faas.version", "hello-00001-abc"),
        ("cloud.account.id", metadata::PROJECT_ID),
        ("cloud.region", metadata::REGION),
        ("faas.instance", metadata::INSTANCE_ID),
    ];
    for (key, value) in expected {
        assert_eq!(
            resource_value(&telemetry, key),
            Some(Value::from(value)),
            "{key}"
        );
    }
    let seen = fake.requests();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.flavor.as_deref() == Some("Google")));
    let mut paths: Vec<_> = seen.iter().map(|s| s.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/computeMetadata/v1/instance/id",
            "/computeMetadata/v1/instance/region",
            "/computeMetadata/v1/project/project-id",
        ]
    );
}

#[tokio::test]
async fn off_gcp_the_metadata_server_is_never_contacted() {
    let fake = MetadataServer::local().unwrap();
    let env = Env::from_pairs([
        ("OTEL_SERVICE_NAME", "local"),
        ("GCE_METADATA_HOST", fake.host().as_str()),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]);
    let telemetry = build_telemetry(&env).await.unwrap();
    assert_eq!(resource_value(&telemetry, "cloud.provider"), None);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(fake.connections(), 0);
}

#[tokio::test]
async fn a_bad_memory_value_stops_start_up_naming_the_variable() {
    let env = Env::from_pairs([("K_SERVICE", "hello"), ("FAAS_OTEL_MEMORY_MB", "512Mi")]);
    let err = build_telemetry(&env).await.unwrap_err();
    assert!(err.to_string().contains("FAAS_OTEL_MEMORY_MB"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_within_one_second_when_the_metadata_server_never_answers() {
    let stalling = MetadataServer::local_stalling().unwrap();
    let collector = OtlpReceiver::start().unwrap();
    let env = Env::from_pairs([
        ("K_SERVICE", "hello"),
        ("GCE_METADATA_HOST", stalling.host().as_str()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url().as_str()),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("FAAS_OTEL_MEMORY_MB", "512"),
    ]);
    let started = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Serving::spawn(|signal| {
        Server::with_env(env).shutdown_signal(signal).serve_on(
            listener,
            Router::new().route("/users/{id}", get(|| async { "user" })),
        )
    });
    let response = http_client(Some(Duration::from_secs(1)))
        .unwrap()
        .get(format!("http://{addr}/users/7"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // The metadata server was asked (and stalled); the span left without its values,
    // flushed before the response.
    assert!(stalling.connections() >= 1);
    let ReceivedSpan { resource, span, .. } = collector
        .wait_for_span("GET /users/{id}", |_| true)
        .unwrap();
    assert_eq!(attr(&resource, "cloud.account.id"), None);
    assert_attrs(&resource, &[("faas.name", "hello")]);
    assert_attrs(
        &span.attributes,
        &[("http.route", "/users/{id}"), ("url.path", "/users/7")],
    );
    // Cost: the Cloud Run request plan with FAAS_OTEL_MEMORY_MB.
    assert_eq!(
        attr(&span.attributes, "faas_otel.cost.billed_memory_mb").as_deref(),
        Some("512")
    );
    assert!(attr(&span.attributes, "faas_otel.cost.usd").is_some());
    server.stop(Duration::from_secs(5)).await.unwrap().unwrap();
}
