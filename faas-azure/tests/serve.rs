//! `Server::serve_on` in-process, over real HTTP, driven by a protocol-level fake of the
//! Functions host (the test kit's `azure::FakeHost`, written from the documented
//! custom-handler protocol; no Functions host installs offline) and the test kit's OTLP/HTTP
//! receiver.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use faas_azure::{Binding, InvokeRequest, InvokeResponse, Server};
use faas_core::env::Env;
use faas_testkit::azure::FakeHost;
use faas_testkit::otlp::proto::tonic::trace::v1::span::SpanKind;
use faas_testkit::otlp::{OtlpReceiver, ReceivedSpan, assert_attrs, attr};
use faas_testkit::{Serving, http_client};
use tokio::net::TcpListener;

async fn tick(request: InvokeRequest) -> InvokeResponse {
    let now = request.sys().and_then(|s| s.utc_now).unwrap_or_default();
    InvokeResponse::new().with_return_value(now)
}

struct Running {
    port: u16,
    server: Serving<Result<(), faas_azure::Error>>,
}

async fn run(env: Env, server: impl FnOnce(Server) -> Server) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = Router::new()
        .route("/", get(|| async { "root" }))
        // Registered without the route prefix: faas-azure serves it at /api/items/{id}.
        .route("/items/{id}", get(|| async { "item" }))
        .route(
            "/orders",
            post(|r: InvokeRequest| async move {
                InvokeResponse::new().with_output("copy", r.data_str("order").unwrap_or_default())
            }),
        )
        .route("/tick", post(tick));
    let server = server(Server::with_env(env))
        // No function.json here: the functions are declared in code.
        .app_root(std::env::temp_dir().join("faas-azure-no-app-root"));
    let server = Serving::spawn(|signal| server.shutdown_signal(signal).serve_on(listener, router));
    Running { port, server }
}

impl Running {
    async fn stop(self) {
        self.server
            .stop(Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_functions_under_a_host() {
    let collector = OtlpReceiver::start().unwrap();
    let env = support::under_host(&collector, &[("ORDERS_QUEUE", "orders-test")]);
    let running = run(env, |s| {
        s.function("orders", Binding::queue("order", "%ORDERS_QUEUE%"))
            .function("tick", Binding::timer("timer", "0 */5 * * * *"))
            .function("items", Binding::http("req", Some("items/{id}")))
    })
    .await;
    let host = FakeHost::new(([127, 0, 0, 1], running.port).into()).unwrap();
    host.wait_ready(Duration::from_secs(10)).await.unwrap();

    let answer = host
        .forward(reqwest::Method::GET, "/api/items/9", None)
        .await
        .unwrap();
    assert_eq!(answer.body, "item");
    let span = collector
        .wait_for_span("GET /api/items/{id}", |_| true)
        .unwrap()
        .span;
    assert_attrs(
        &span.attributes,
        &[("faas.name", "inproc/items"), ("url.path", "/api/items/9")],
    );

    let answer = host
        .invoke_queue("orders", "order", "plain text", "m-7", None)
        .await
        .unwrap();
    assert_eq!(
        answer.json(),
        serde_json::json!({"Outputs": {"copy": "plain text"}, "Logs": [], "ReturnValue": null})
    );
    let span = collector
        .wait_for_span("process orders-test", |_| true)
        .unwrap()
        .span;
    assert_eq!(span.kind, SpanKind::Consumer as i32);
    assert_attrs(
        &span.attributes,
        &[
            ("messaging.message.id", "m-7"),
            ("faas.invocation_id", answer.invocation_id.as_str()),
        ],
    );

    // A timer function on the invoke protocol (the fake host's queue-shaped metadata carries
    // sys.UtcNow, which is what a timer reads).
    let answer = host
        .invoke_queue("tick", "timer", "{}", "t-1", None)
        .await
        .unwrap();
    assert_eq!(answer.json()["ReturnValue"], "2026-11-26T10:00:01.2205399Z");
    let span = collector.wait_for_span("tick", |_| true).unwrap().span;
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_attrs(
        &span.attributes,
        &[
            ("faas.trigger", "timer"),
            ("faas.cron", "0 */5 * * * *"),
            ("faas.time", "2026-11-26T10:00:01.2205399Z"),
        ],
    );

    // A POST that is not an invoke request: the extractor answers 400, still traced.
    let client = http_client(None).unwrap();
    let response = client
        .post(format!("http://127.0.0.1:{}/orders", running.port))
        .header("X-Azure-Functions-InvocationId", "bad-1")
        .body("[1, 2]")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let span = collector
        .wait_for_span("process orders-test", |s| {
            attr(&s.attributes, "faas.invocation_id").as_deref() == Some("bad-1")
        })
        .unwrap()
        .span;
    assert_eq!(
        attr(&span.attributes, "http.response.status_code").as_deref(),
        Some("400")
    );

    // The pings (GET / without an invocation id) were answered and never traced.
    assert!(collector.spans().iter().all(|s| s.name != "GET /"));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_a_host_every_request_is_traced() {
    let collector = OtlpReceiver::start().unwrap();
    let env = Env::from_pairs([
        ("OTEL_SERVICE_NAME", "local-app"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url().as_str()),
        ("OTEL_METRICS_EXPORTER", "none"),
    ]);
    let running = run(env, |s| s).await;
    let client = http_client(None).unwrap();
    let started = std::time::Instant::now();
    let response = loop {
        match client
            .get(format!("http://127.0.0.1:{}/", running.port))
            .send()
            .await
        {
            Ok(response) => break response,
            Err(_) if started.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(response.text().await.unwrap(), "root");
    let ReceivedSpan { resource, span, .. } = collector.wait_for_span("GET /", |_| true).unwrap();
    assert_eq!(attr(&resource, "cloud.provider"), None);
    assert_attrs(&resource, &[("service.name", "local-app")]);
    assert_eq!(attr(&span.attributes, "faas.invocation_id"), None);
    // No function is declared: `POST /orders` is plain HTTP.
    let response = client
        .post(format!("http://127.0.0.1:{}/orders", running.port))
        .body(r#"{"Data": {"order": "x"}, "Metadata": {}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let span = collector
        .wait_for_span("POST /orders", |_| true)
        .unwrap()
        .span;
    assert_eq!(
        attr(&span.attributes, "faas.trigger").as_deref(),
        Some("http")
    );
    running.stop().await;
}
