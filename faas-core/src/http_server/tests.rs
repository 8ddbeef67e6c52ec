#![allow(clippy::unwrap_used)]

use std::convert::Infallible;

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use tower::{ServiceExt as _, service_fn};

use super::*;
use crate::cold_start::ColdStart;
use crate::env::Env;
use crate::faas_environment::LocalEnvironment;
use crate::http_privacy::HttpPrivacy;
use crate::invocation::Trigger;

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn telemetry(pairs: &[(&str, &str)]) -> (Telemetry, InMemorySpanExporter) {
    let spans = InMemorySpanExporter::default();
    let mut env = vec![("OTEL_METRICS_EXPORTER", "none")];
    env.extend_from_slice(pairs);
    let telemetry = Telemetry::builder(LocalEnvironment::named("fn"))
        .with_env(Env::from_pairs(env))
        .with_span_exporter(spans.clone())
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
        .unwrap();
    (telemetry, spans)
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == Key::from(key.to_owned()))
        .map(|kv| kv.value.clone())
}

fn invocation_spans(spans: &InMemorySpanExporter) -> Vec<SpanData> {
    spans
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| !s.name.starts_with("faas init"))
        .collect()
}

async fn call(layer: &HttpServerLayer, request: http::Request<String>, status: u16) -> u16 {
    let service = layer.layer(service_fn(move |_req: http::Request<String>| async move {
        // The handler runs with the invocation span current.
        assert!(
            opentelemetry::Context::current()
                .span()
                .span_context()
                .is_valid()
        );
        Ok::<_, Infallible>(
            http::Response::builder()
                .status(status)
                .body(String::new())
                .unwrap(),
        )
    }));
    service.oneshot(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn records_http_semconv_and_flushes_before_the_response() {
    let (telemetry, spans) = telemetry(&[]);
    let layer = HttpServerLayer::new(telemetry.clone());
    let request = http::Request::builder()
        .method("GET")
        .uri("/hello?name=x&token=s3cret")
        .header("host", "hello-abc.a.run.app")
        .header("user-agent", "curl/8.5")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-for", "203.0.113.7, 10.0.0.1")
        .header("authorization", "Bearer secret-token")
        .header("cookie", "session=secret-cookie")
        .header("x-api-key", "secret-key")
        .body(String::new())
        .unwrap();
    assert_eq!(call(&layer, request, 200).await, 200);
    // Flushed before the response came back: nothing queued, the span is exported.
    assert_eq!(telemetry.queued_spans(), 0);
    let all = invocation_spans(&spans);
    assert_eq!(all.len(), 1);
    let span = &all[0];
    assert_eq!(span.name, "GET");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(span.parent_span_id, SpanId::INVALID);
    let expected: &[(&str, Value)] = &[
        ("faas.trigger", "http".into()),
        ("faas.coldstart", true.into()),
        ("http.request.method", "GET".into()),
        ("url.path", "/hello".into()),
        ("url.query", "name=x&token=REDACTED".into()),
        ("url.scheme", "https".into()),
        ("network.protocol.version", "1.1".into()),
        ("user_agent.original", "curl/8.5".into()),
        ("client.address", "203.0.113.7".into()),
        ("server.address", "hello-abc.a.run.app".into()),
        ("http.response.status_code", 200_i64.into()),
    ];
    for (key, value) in expected {
        assert_eq!(attribute(span, key).as_ref(), Some(value), "{key}");
    }
    assert_eq!(attribute(span, "server.port"), None);
    assert_eq!(attribute(span, "http.route"), None);
    for kv in &span.attributes {
        let text = kv.value.as_str();
        assert!(!text.contains("secret"), "{}={text}", kv.key);
    }

    // Second request: warm.
    let request = http::Request::builder()
        .method("POST")
        .uri("http://localhost:8080/orders")
        .body(String::new())
        .unwrap();
    call(&layer, request, 201).await;
    let all = invocation_spans(&spans);
    let span = &all[1];
    assert_eq!(span.name, "POST");
    assert_eq!(attribute(span, "faas.coldstart"), Some(false.into()));
    assert_eq!(attribute(span, "url.scheme"), Some("http".into()));
    assert_eq!(attribute(span, "server.address"), Some("localhost".into()));
    assert_eq!(attribute(span, "server.port"), Some(8080_i64.into()));
}

#[tokio::test]
async fn configured_privacy_lists_keep_headers_and_query_values_out() {
    let (telemetry, spans) = telemetry(&[
        ("FAAS_OTEL_DENY_HEADERS", "User-Agent,x-forwarded-for"),
        ("FAAS_OTEL_DENY_QUERY_PARAMS", "session_id"),
    ]);
    let layer = HttpServerLayer::new(telemetry);
    let request = http::Request::builder()
        .uri("/hello?session_id=denied-session&name=x")
        .header("user-agent", "denied-agent")
        .header("x-forwarded-for", "198.51.100.1")
        .body(String::new())
        .unwrap();
    call(&layer, request, 200).await;
    let all = invocation_spans(&spans);
    let span = &all[0];
    assert_eq!(
        attribute(span, "url.query"),
        Some("session_id=REDACTED&name=x".into())
    );
    assert_eq!(attribute(span, "user_agent.original"), None);
    assert_eq!(attribute(span, "client.address"), None);
    for kv in &span.attributes {
        let text = kv.value.as_str();
        assert!(
            !text.contains("denied") && !text.contains("198.51.100.1"),
            "{}={text}",
            kv.key
        );
    }
}

#[tokio::test]
async fn parents_come_from_the_configured_then_the_fallback_propagation() {
    let (telemetry, spans) = telemetry(&[]);
    let layer = HttpServerLayer::new(telemetry.clone())
        .with_fallback_propagation(Propagation::from_names("cloudtrace").unwrap());
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<(&'a str, &'a str)>);
    let cases: &[Case<'_>] = &[
        (
            &[("traceparent", TRACEPARENT)],
            Some(("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")),
        ),
        // Both: the configured (W3C) one wins.
        (
            &[
                ("traceparent", TRACEPARENT),
                (
                    "x-cloud-trace-context",
                    "105445aa7843bc8bf206b12000100000/1;o=1",
                ),
            ],
            Some(("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")),
        ),
        // Only the Google header: decimal span id 1 = 0x0000000000000001.
        (
            &[(
                "x-cloud-trace-context",
                "105445aa7843bc8bf206b12000100000/1;o=1",
            )],
            Some(("105445aa7843bc8bf206b12000100000", "0000000000000001")),
        ),
        // Malformed: a fresh root.
        (&[("traceparent", "00-zz-b7ad6b7169203331-01")], None),
        (&[("x-cloud-trace-context", "not-a-trace/abc")], None),
        (&[], None),
    ];
    for (headers, expected) in cases {
        let mut builder = http::Request::builder().uri("/");
        for (k, v) in *headers {
            builder = builder.header(*k, *v);
        }
        call(&layer, builder.body(String::new()).unwrap(), 200).await;
        let span = invocation_spans(&spans).pop().unwrap();
        spans.reset();
        match expected {
            Some((trace, parent)) => {
                assert_eq!(
                    span.span_context.trace_id(),
                    TraceId::from_hex(trace).unwrap(),
                    "{headers:?}"
                );
                assert_eq!(span.parent_span_id, SpanId::from_hex(parent).unwrap());
                assert!(span.parent_span_is_remote);
            }
            None => {
                assert_eq!(span.parent_span_id, SpanId::INVALID, "{headers:?}");
                assert!(span.span_context.is_valid());
            }
        }
    }
}

#[tokio::test]
async fn without_a_fallback_the_google_header_is_ignored() {
    let (telemetry, spans) = telemetry(&[]);
    let layer = HttpServerLayer::new(telemetry);
    let request = http::Request::builder()
        .header(
            "x-cloud-trace-context",
            "105445aa7843bc8bf206b12000100000/1;o=1",
        )
        .body(String::new())
        .unwrap();
    call(&layer, request, 200).await;
    assert_eq!(invocation_spans(&spans)[0].parent_span_id, SpanId::INVALID);
}

#[tokio::test]
async fn server_errors_and_service_errors_are_errors() {
    let (telemetry, spans) = telemetry(&[]);
    let layer = HttpServerLayer::new(telemetry);
    call(&layer, http::Request::new(String::new()), 503).await;
    call(&layer, http::Request::new(String::new()), 404).await;
    let all = invocation_spans(&spans);
    assert_eq!(attribute(&all[0], "error.type"), Some("503".into()));
    assert!(matches!(all[0].status, Status::Error { .. }));
    assert_eq!(all[1].status, Status::Unset);
    assert_eq!(attribute(&all[1], "error.type"), None);

    #[derive(Debug)]
    struct Broken;
    impl fmt::Display for Broken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broken pipe")
        }
    }
    let service = layer.layer(service_fn(|_req: http::Request<String>| async {
        Err::<http::Response<String>, _>(Broken)
    }));
    assert!(
        service
            .oneshot(http::Request::new(String::new()))
            .await
            .is_err()
    );
    let span = invocation_spans(&spans).pop().unwrap();
    assert_eq!(span.status, Status::error("broken pipe"));
    assert_eq!(attribute(&span, "http.response.status_code"), None);
}

#[tokio::test]
async fn a_custom_describer_and_its_parent_win() {
    let (telemetry, spans) = telemetry(&[]);
    let layer = HttpServerLayer::new(telemetry).with_describer(|_parts| {
        Invocation::new("process orders", Trigger::PubSub)
            .with_attribute(KeyValue::new("messaging.system", "gcp_pubsub"))
    });
    let request = http::Request::builder()
        .header("traceparent", TRACEPARENT)
        .body(String::new())
        .unwrap();
    call(&layer, request, 204).await;
    let span = invocation_spans(&spans).pop().unwrap();
    assert_eq!(span.name, "process orders");
    assert_eq!(span.span_kind, SpanKind::Consumer);
    assert_eq!(attribute(&span, "faas.trigger"), Some("pubsub".into()));
    assert_eq!(
        attribute(&span, "messaging.system"),
        Some("gcp_pubsub".into())
    );
    assert_eq!(
        span.parent_span_id,
        SpanId::from_hex("b7ad6b7169203331").unwrap()
    );
}

#[tokio::test]
async fn after_response_spawns_the_flush() {
    let (telemetry, spans) = telemetry(&[]);
    let layer =
        HttpServerLayer::new(telemetry.clone()).with_flush_policy(FlushPolicy::AfterResponse);
    assert_eq!(layer.flush_policy(), FlushPolicy::AfterResponse);
    call(&layer, http::Request::new(String::new()), 200).await;
    for _ in 0..100 {
        if telemetry.queued_spans() == 0 && !invocation_spans(&spans).is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the spawned flush never exported");
}

#[test]
fn span_names_follow_the_http_conventions() {
    assert_eq!(span_name("GET", None), "GET");
    assert_eq!(span_name("get", Some("/users/{id}")), "GET /users/{id}");
    assert_eq!(span_name("PURGE", None), "HTTP");
    assert_eq!(span_name("PURGE", Some("/x")), "HTTP /x");
    let (parts, ()) = http::Request::builder()
        .method("PURGE")
        .uri("/x")
        .body(())
        .unwrap()
        .into_parts();
    let attrs = http_attributes(&parts, Some("/x"), &HttpPrivacy::default());
    assert!(attrs.contains(&KeyValue::new("http.request.method", "_OTHER")));
    assert!(attrs.contains(&KeyValue::new("http.request.method_original", "PURGE")));
    assert!(attrs.contains(&KeyValue::new("http.route", "/x")));
}

/// A layer whose requests sleep `sleep` before answering 200.
fn sleeping(
    layer: &HttpServerLayer,
    sleep: std::time::Duration,
) -> impl Future<Output = u16> + use<> {
    let service = layer.layer(service_fn(move |_req: http::Request<String>| async move {
        tokio::time::sleep(sleep).await;
        Ok::<_, Infallible>(http::Response::new(String::new()))
    }));
    async move {
        let response = service.oneshot(http::Request::new(String::new())).await;
        response.unwrap().status().as_u16()
    }
}

#[tokio::test(start_paused = true)]
async fn a_configured_invocation_timeout_ends_a_hung_request_once_as_a_timeout() {
    use std::time::Duration;
    let (telemetry, spans) = telemetry(&[]);
    let config = WatchdogConfig {
        margin: Duration::from_millis(500),
        invocation_timeout: Some(Duration::from_secs(2)),
    };
    let layer = HttpServerLayer::new(telemetry.clone()).with_watchdog(config);
    let request = tokio::spawn(sleeping(&layer, Duration::from_secs(10)));
    tokio::time::sleep(Duration::from_millis(1499)).await;
    assert!(invocation_spans(&spans).is_empty(), "fired early");
    tokio::time::sleep(Duration::from_millis(2)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // Ended and flushed by the watchdog while the handler still runs.
    let ended = invocation_spans(&spans);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].status, Status::error("invocation timed out"));
    assert_eq!(attribute(&ended[0], "error.type"), Some("timeout".into()));
    // The handler answers after all: nothing more is recorded.
    assert_eq!(request.await.unwrap(), 200);
    telemetry.flush(None).await;
    assert_eq!(invocation_spans(&spans).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn without_an_invocation_timeout_no_watchdog_is_armed() {
    use std::time::Duration;
    let (telemetry, spans) = telemetry(&[]);
    let config = WatchdogConfig::for_flush_budget(Duration::from_millis(250));
    let layer = HttpServerLayer::new(telemetry.clone()).with_watchdog(config);
    assert_eq!(sleeping(&layer, Duration::from_secs(3600)).await, 200);
    let ended = invocation_spans(&spans);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].status, Status::Unset);
}
