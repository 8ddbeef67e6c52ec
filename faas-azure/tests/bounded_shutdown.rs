//! The graceful shutdown is bounded: after the shutdown signal, a request that never finishes
//! is abandoned once `FAAS_OTEL_SHUTDOWN_GRACE_MS` ran out, `serve_on` returns (so the process
//! exits before the Functions host kills it), and the telemetry is drained: spans of finished
//! requests, and spans still queued, arrive at the test kit's OTLP receiver.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use faas_azure::{Server, build_telemetry};
use faas_testkit::azure::FakeHost;
use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{Hanging, Serving};
use opentelemetry::trace::{Span as _, Tracer as _};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_finishes_is_abandoned_after_the_grace_then_spans_drain() {
    let collector = OtlpReceiver::start().unwrap();
    let env = support::under_host(&collector, &[("FAAS_OTEL_SHUTDOWN_GRACE_MS", "300")]);
    let telemetry = build_telemetry(&env).await.unwrap();
    let hanging = Hanging::new();
    let router = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/hang", get(hanging.handler()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Serving::spawn(|signal| {
        Server::with_env(env)
            .app_root(std::env::temp_dir().join("faas-azure-no-app-root"))
            .telemetry(telemetry.clone())
            .shutdown_signal(signal)
            .serve_on(listener, router)
    });

    // Forwarded as the Functions host forwards HTTP (its invocation id headers).
    let host = Arc::new(FakeHost::new(addr).unwrap());
    let hello = host
        .forward(reqwest::Method::GET, "/api/hello", None)
        .await
        .unwrap();
    assert_eq!(hello.body, "hello");
    let hang = tokio::spawn({
        let host = host.clone();
        async move { host.forward(reqwest::Method::GET, "/api/hang", None).await }
    });
    hanging.reached().await;
    // A span still in the queue when the signal comes: only the drain sends it.
    telemetry.tracer().start("queued before the signal").end();

    // Without the bound this never returns (the guard only turns a hang into a failure).
    let served = server
        .stop(Duration::from_secs(60))
        .await
        .expect("serve_on did not give up on the hanging request");
    assert!(served.is_ok(), "{served:?}");
    assert!(!hanging.finished());

    assert_eq!(
        collector.spans_named("GET /api/hello").len(),
        1,
        "{:?}",
        collector.span_names()
    );
    assert_eq!(collector.spans_named("queued before the signal").len(), 1);
    // The abandoned request never ended: no span of it.
    assert!(collector.spans_named("GET /api/hang").is_empty());
    drop(hang);
}
