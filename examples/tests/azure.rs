//! The `azure-http` example binary over real HTTP, driven by a protocol-level fake of the
//! Azure Functions host (the test kit's `azure::FakeHost`, written from the documented
//! custom-handler protocol: readiness pings, forwarded HTTP with
//! `X-Azure-Functions-InvocationId` and `traceparent`, invoke-protocol POSTs for the queue
//! trigger) with the app root `examples/azure` (host.json and function.json files), and a local
//! OTLP/HTTP receiver whose requests are decoded with `opentelemetry-proto`.
//!
//! The last test serves the `hello` binary built with `--features azure` under the fake host:
//! the one cargo built for this test when the feature is on (`cargo xtask test` turns it on),
//! else a nested `cargo build` of it.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use faas_testkit::azure::HOST_VERSION;
use faas_testkit::otlp::proto::tonic::trace::v1::span::SpanKind;
use faas_testkit::otlp::{OtlpReceiver, ReceivedSpan, assert_attrs, attr, hex};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const HOST_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const FUNCTION_ID_PREFIX: &str = "/subscriptions/6f1a2b3c-0000-4d5e-8f90-123456789abc/resourceGroups/shop-rg/providers/Microsoft.Web/sites/shop";

/// The variables the platform sets for the app `shop` (Consumption plan, West Europe), which
/// the resource is made of.
const PLATFORM: &[(&str, &str)] = &[
    ("REGION_NAME", "West Europe"),
    ("WEBSITE_INSTANCE_ID", "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
    ("WEBSITE_MEMORY_LIMIT_MB", "1536"),
    ("WEBSITE_SKU", "Dynamic"),
    (
        "WEBSITE_OWNER_NAME",
        "6f1a2b3c-0000-4d5e-8f90-123456789abc+shop-rg-WestEuropewebspace-Linux",
    ),
    ("WEBSITE_RESOURCE_GROUP", "shop-rg"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_http_and_invoke_protocol_under_a_fake_host() {
    let collector = OtlpReceiver::start().unwrap();
    let (mut function, host) = support::start_under_host(
        Path::new(env!("CARGO_BIN_EXE_azure-http")),
        &collector,
        PLATFORM,
    );
    // The host's readiness pings carry no invocation id: answered, never traced.
    host.wait_ready(Duration::from_secs(10)).await.unwrap();

    // 1. Forwarded HTTP, cold, the caller's traceparent.
    let answer = host
        .forward(reqwest::Method::GET, "/api/hello", Some(TRACEPARENT))
        .await
        .unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello"));
    let ReceivedSpan { resource, span, .. } =
        collector.wait_for_span("GET /api/hello", |_| true).unwrap();
    assert_attrs(
        &resource,
        &[
            ("cloud.provider", "azure"),
            ("cloud.platform", "azure.functions"),
            ("cloud.region", "West Europe"),
            ("faas.instance", "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
            ("faas.max_memory", "1610612736"),
            ("cloud.account.id", "6f1a2b3c-0000-4d5e-8f90-123456789abc"),
            ("cloud.resource_id", FUNCTION_ID_PREFIX),
            ("service.name", "shop"),
        ],
    );
    assert_eq!(attr(&resource, "faas.name"), None);
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
    let hello_id = format!("{FUNCTION_ID_PREFIX}/functions/hello");
    assert_attrs(
        &span.attributes,
        &[
            ("faas.trigger", "http"),
            ("faas.invocation_id", answer.invocation_id.as_str()),
            ("faas.name", "shop/hello"),
            ("cloud.resource_id", hello_id.as_str()),
            ("faas.coldstart", "true"),
            ("http.request.method", "GET"),
            ("http.route", "/api/hello"),
            ("url.path", "/api/hello"),
            ("http.response.status_code", "200"),
            (
                "user_agent.original",
                &format!("Azure-Functions-Host/{HOST_VERSION}"),
            ),
            ("faas_otel.cost.billed_memory_mb", "1536"),
        ],
    );
    assert!(attr(&span.attributes, "faas_otel.cost.usd").is_some());

    // 2. Invoke protocol, queue trigger: warm, parent from the host's traceparent.
    let answer = host
        .invoke_queue(
            "orders",
            "order",
            r#"{"id": 42}"#,
            "9f0e8d7c-msg-1",
            Some(HOST_TRACEPARENT),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "Outputs": {},
            "Logs": ["order 42 accepted"],
            "ReturnValue": {"accepted": 42}
        })
    );
    let span = collector
        .wait_for_span("process orders", |_| true)
        .unwrap()
        .span;
    assert_eq!(span.kind, SpanKind::Consumer as i32);
    assert_eq!(hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&span.parent_span_id), "00f067aa0ba902b7");
    let orders_id = format!("{FUNCTION_ID_PREFIX}/functions/orders");
    assert_attrs(
        &span.attributes,
        &[
            ("faas.trigger", "pubsub"),
            ("faas.invocation_id", answer.invocation_id.as_str()),
            ("faas.name", "shop/orders"),
            ("cloud.resource_id", orders_id.as_str()),
            ("faas.coldstart", "false"),
            ("messaging.system", "azure.queue_storage"),
            ("messaging.operation.name", "process"),
            ("messaging.operation.type", "process"),
            ("messaging.destination.name", "orders"),
            ("messaging.message.id", "9f0e8d7c-msg-1"),
            ("http.response.status_code", "200"),
        ],
    );
    assert_eq!(attr(&span.attributes, "url.path"), None);

    // 3. A message that is not an order: 500 fails the invocation (the host retries it).
    let answer = host
        .invoke_queue("orders", "order", "not json", "msg-2", None)
        .await
        .unwrap();
    assert_eq!(answer.status, 500);
    assert_eq!(answer.json()["Logs"], serde_json::json!(["not an order"]));
    let span = collector
        .wait_for_span("process orders", |s| {
            attr(&s.attributes, "messaging.message.id").as_deref() == Some("msg-2")
        })
        .unwrap()
        .span;
    assert_eq!(span.status.as_ref().unwrap().code, 2);
    assert_eq!(attr(&span.attributes, "error.type").as_deref(), Some("500"));
    assert!(span.parent_span_id.is_empty());

    // 4. Warm HTTP without a parent: a fresh root, not cold.
    let answer = host
        .forward(reqwest::Method::GET, "/api/hello", None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let id = answer.invocation_id.clone();
    let span = collector
        .wait_for_span("GET /api/hello", |s| {
            attr(&s.attributes, "faas.invocation_id").as_deref() == Some(id.as_str())
        })
        .unwrap()
        .span;
    assert!(span.parent_span_id.is_empty());
    assert_eq!(
        attr(&span.attributes, "faas.coldstart").as_deref(),
        Some("false")
    );

    // Exactly one cold start; the pings left no span.
    let spans = collector.spans();
    let invocations: Vec<_> = spans
        .iter()
        .filter(|s| attr(&s.attributes, "faas.trigger").is_some())
        .collect();
    assert_eq!(
        invocations.len(),
        4,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert_eq!(
        invocations
            .iter()
            .filter(|s| attr(&s.attributes, "faas.coldstart").as_deref() == Some("true"))
            .count(),
        1
    );
    assert!(
        spans
            .iter()
            .all(|s| attr(&s.attributes, "url.path").as_deref() != Some("/"))
    );

    // 5. SIGTERM: drains and exits 0.
    let status = function
        .terminate_and_wait_async(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_bad_port_stops_start_up_naming_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_azure-http"))
        .current_dir(support::app_root())
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "http")
        .env("OTEL_TRACES_EXPORTER", "none")
        .env("OTEL_METRICS_EXPORTER", "none")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("FUNCTIONS_CUSTOMHANDLER_PORT"), "{stderr}");
    assert!(stderr.contains("\"http\""), "{stderr}");
}

/// `hello` with `--features azure`: the same Router, served by faas_azure::serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_builds_and_serves_with_the_azure_feature() {
    let copy = hello_on_azure();
    let collector = OtlpReceiver::start().unwrap();
    let (_function, host) = support::start_under_host(&copy, &collector, PLATFORM);
    host.wait_ready(Duration::from_secs(10)).await.unwrap();
    let answer = host
        .forward(reqwest::Method::GET, "/api/hello", None)
        .await
        .unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello"));
    let ReceivedSpan { resource, span, .. } =
        collector.wait_for_span("GET /api/hello", |_| true).unwrap();
    assert_eq!(attr(&resource, "cloud.provider").as_deref(), Some("azure"));
    assert_attrs(
        &span.attributes,
        &[
            ("faas.invocation_id", answer.invocation_id.as_str()),
            ("faas.name", "shop/hello"),
        ],
    );
    let _ = std::fs::remove_file(&copy);
}

/// A private copy of `hello` built with `--features azure` (another build of the workspace may
/// replace `target/debug/hello` while the test runs).
fn hello_on_azure() -> PathBuf {
    support::private_copy(&built_hello_on_azure(), "faas-otel-hello-azure")
}

/// This package was built with `azure`: `hello` is the Azure variant already.
#[cfg(feature = "azure")]
fn built_hello_on_azure() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hello"))
}

/// Without the feature, a nested `cargo build` of that one binary with it (slower: the
/// dependencies resolve with other features than the test build's).
#[cfg(not(feature = "azure"))]
fn built_hello_on_azure() -> PathBuf {
    support::cargo_built(
        &["-p", "examples", "--bin", "hello", "--features", "azure"],
        "hello",
    )
}
