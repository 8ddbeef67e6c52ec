//! The example functions under a Lambda Runtime API emulator (tests/support/runtime_api.rs,
//! written from the documented protocol), exporting to a real local OTLP/HTTP receiver whose
//! requests are decoded with `opentelemetry-proto`.
#![allow(clippy::unwrap_used)]

#[path = "../../faas-core/tests/support/mod.rs"]
mod collector;
mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use collector::{Behaviour, Collector};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use support::runtime_api::{FUNCTION_ARN, Invoke, RuntimeApi};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(binary: &str, api: &RuntimeApi, endpoint: &str, extra: &[(&str, &str)]) -> Function {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.host_port())
        .env("AWS_LAMBDA_FUNCTION_NAME", "orders")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/26/[$LATEST]0123")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_METRICS_EXPORTER", "none")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra {
        command.env(k, v);
    }
    Function(command.spawn().unwrap())
}

/// A collector, a Runtime API emulator and the function `binary` running against them.
fn launch(
    binary: &str,
    behaviour: Behaviour,
    extra: &[(&str, &str)],
) -> (Collector, RuntimeApi, Function) {
    let collector = Collector::start(behaviour);
    let api = RuntimeApi::start();
    let function = start(binary, &api, &collector.url(), extra);
    (collector, api, function)
}

/// Invokes the HTTP function with `GET path` and no extra header.
fn get(api: &RuntimeApi, path: &str) -> support::runtime_api::Answer {
    api.invoke(Invoke {
        body: http_event("GET", path, &[]),
        ..Invoke::default()
    })
}

fn http_event(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    http_event_with_body(method, path, headers, None)
}

fn http_event_with_body(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> String {
    let mut all: HashMap<&str, &str> = HashMap::from([
        ("host", "abc123.execute-api.eu-west-1.amazonaws.com"),
        ("user-agent", "curl/8.5.0"),
        ("authorization", "Bearer top-secret-token"),
    ]);
    all.extend(headers.iter().copied());
    serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": all,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "26/Nov/2026:18:00:00 +0000",
            "timeEpoch": 1795716000000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

fn attrs(span: &Span) -> HashMap<String, Any> {
    span.attributes
        .iter()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?.value?)))
        .collect()
}

fn s(v: &str) -> Any {
    Any::StringValue(v.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn spans_named(collector: &Collector, name: &str) -> Vec<Span> {
    collector
        .spans
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.name == name)
        .cloned()
        .collect()
}

#[test]
fn http_invocations_cold_then_warm_with_w3c_and_xray_parents() {
    let (collector, api, _function) =
        launch(env!("CARGO_BIN_EXE_aws-http-api"), Behaviour::Accept, &[]);

    let first = api.invoke(Invoke {
        body: http_event("GET", "/hello", &[("traceparent", TRACEPARENT)]),
        trace_id: Some(XRAY.to_owned()),
        ..Invoke::default()
    });
    assert_eq!(first.kind, "response");
    let response: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(response["statusCode"], 200);
    let second = api.invoke(Invoke {
        body: http_event("GET", "/hello", &[]),
        trace_id: Some(XRAY.to_owned()),
        ..Invoke::default()
    });
    api.wait_next_calls(3);

    let spans = spans_named(&collector, "GET /hello");
    assert_eq!(spans.len(), 2, "{:?}", collector.span_names());
    let (cold, warm) = (&spans[0], &spans[1]);
    assert_eq!(cold.kind, SpanKind::Server as i32);
    // The W3C header wins over the invocation's X-Ray header.
    assert_eq!(hex(&cold.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&cold.parent_span_id), "b7ad6b7169203331");
    // No W3C header: the X-Ray header of this invocation is the parent.
    assert_eq!(hex(&warm.trace_id), "5759e988bd862e3fe1be46a994272793");
    assert_eq!(hex(&warm.parent_span_id), "53995c3f42cd8ad8");

    let a = attrs(cold);
    assert_eq!(a["faas.trigger"], s("http"));
    assert_eq!(a["faas.coldstart"], Any::BoolValue(true));
    assert_eq!(a["faas.invocation_id"], s(&first.request_id));
    assert_eq!(a["cloud.account.id"], s("123456789012"));
    assert_eq!(a["cloud.resource_id"], s(FUNCTION_ARN));
    assert_eq!(a["aws.lambda.invoked_arn"], s(FUNCTION_ARN));
    assert_eq!(a["http.request.method"], s("GET"));
    assert_eq!(a["url.path"], s("/hello"));
    assert_eq!(a["http.response.status_code"], Any::IntValue(200));
    assert_eq!(a["user_agent.original"], s("curl/8.5.0"));
    assert_eq!(a["client.address"], s("203.0.113.9"));
    assert!(a.contains_key("faas_otel.cost.usd"));
    let w = attrs(warm);
    assert_eq!(w["faas.coldstart"], Any::BoolValue(false));
    assert_eq!(w["faas.invocation_id"], s(&second.request_id));

    let all = collector.spans.lock().unwrap().clone();
    let init = all.iter().find(|s| s.name == "faas init").unwrap();
    assert_eq!(init.trace_id, cold.trace_id);
    assert_eq!(init.parent_span_id, cold.span_id);
    let rendered = format!("{all:?}");
    assert!(
        !rendered.contains("top-secret-token"),
        "Authorization leaked"
    );
}

#[test]
fn malformed_headers_give_a_fresh_root_and_errors_are_recorded() {
    let (collector, api, _function) =
        launch(env!("CARGO_BIN_EXE_aws-http-api"), Behaviour::Accept, &[]);

    let ok = api.invoke(Invoke {
        body: http_event(
            "GET",
            "/hello",
            &[("traceparent", "00-zz-not-a-traceparent-01")],
        ),
        trace_id: Some("Root=garbage;Parent=;Sampled=".to_owned()),
        ..Invoke::default()
    });
    assert_eq!(ok.kind, "response");
    let failed = get(&api, "/fail");
    assert_eq!(failed.kind, "error");
    api.wait_next_calls(3);

    let hello = &spans_named(&collector, "GET /hello")[0];
    assert!(hello.parent_span_id.is_empty(), "fresh root expected");
    let fail = &spans_named(&collector, "GET /fail")[0];
    let status = fail.status.clone().unwrap();
    assert_eq!(status.code, 2, "error status");
    assert_eq!(status.message, "the order service is unavailable");
    assert_eq!(attrs(fail)["error.type"], s("Error"));
    assert_eq!(fail.events.len(), 1);
    assert_eq!(fail.events[0].name, "exception");
}

fn time_back_at_next(behaviour: Option<Behaviour>, extra: &[(&str, &str)]) -> Duration {
    let collector = behaviour.map(Collector::start);
    let endpoint = collector
        .as_ref()
        .map(Collector::url)
        .unwrap_or_else(Collector::refusing_url);
    let api = RuntimeApi::start();
    let _function = start(env!("CARGO_BIN_EXE_aws-http-api"), &api, &endpoint, extra);
    let answer = get(&api, "/hello");
    assert_eq!(answer.kind, "response");
    let next = api.wait_next_calls(2)[1];
    next.saturating_duration_since(answer.at)
}

#[test]
fn a_refused_collector_lets_the_runtime_return_to_next_within_half_a_second() {
    let back = time_back_at_next(None, &[]);
    assert!(back < Duration::from_millis(500), "{back:?}");
}

#[test]
fn a_stalled_collector_costs_at_most_the_flush_budget() {
    let started = Instant::now();
    let back = time_back_at_next(
        Some(Behaviour::Stall),
        &[("FAAS_OTEL_FLUSH_TIMEOUT_MS", "300")],
    );
    assert!(
        back >= Duration::from_millis(290),
        "the flush did wait for the stalled collector: {back:?}"
    );
    assert!(back < Duration::from_millis(300 + 700), "{back:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

fn sqs_record(
    id: &str,
    body: &str,
    attributes: serde_json::Value,
    system: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "messageId": id,
        "receiptHandle": "AQEB",
        "body": body,
        "attributes": system,
        "messageAttributes": attributes,
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders-queue",
        "awsRegion": "eu-west-1"
    })
}

#[test]
fn sqs_batch_links_every_producer_and_marks_failed_messages() {
    let (collector, api, _function) = launch(
        env!("CARGO_BIN_EXE_aws-sqs-consumer"),
        Behaviour::Accept,
        &[],
    );
    let event = serde_json::json!({ "Records": [
        sqs_record("m-1", "order 1",
            serde_json::json!({"traceparent": {"stringValue": TRACEPARENT, "dataType": "String"}}),
            serde_json::json!({"ApproximateReceiveCount": "1"})),
        sqs_record("m-2", "please fail",
            serde_json::json!({}),
            serde_json::json!({"AWSTraceHeader": XRAY})),
        sqs_record("m-3", "order 3",
            serde_json::json!({"traceparent": {"stringValue": "garbage", "dataType": "String"}}),
            serde_json::json!({})),
    ]});
    let answer = api.invoke(Invoke {
        body: event.to_string(),
        ..Invoke::default()
    });
    let response: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(response["batchItemFailures"][0]["itemIdentifier"], "m-2");
    api.wait_next_calls(2);

    let spans = spans_named(&collector, "orders-queue process");
    assert_eq!(spans.len(), 4, "one batch span and one per message");
    let batch = spans.iter().find(|s| s.parent_span_id.is_empty()).unwrap();
    assert_eq!(batch.kind, SpanKind::Consumer as i32);
    assert_eq!(
        batch.links.len(),
        2,
        "the malformed traceparent gives no link"
    );
    assert_eq!(
        hex(&batch.links[0].trace_id),
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(
        hex(&batch.links[1].trace_id),
        "5759e988bd862e3fe1be46a994272793"
    );
    let a = attrs(batch);
    assert_eq!(a["faas.trigger"], s("pubsub"));
    assert_eq!(a["messaging.system"], s("aws_sqs"));
    assert_eq!(a["messaging.operation.type"], s("process"));
    assert_eq!(a["messaging.destination.name"], s("orders-queue"));
    assert_eq!(a["messaging.batch.message_count"], Any::IntValue(3));
    let children: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id == batch.span_id)
        .collect();
    assert_eq!(children.len(), 3);
    for child in &children {
        assert_eq!(child.kind, SpanKind::Consumer as i32);
        let id = match &attrs(child)["messaging.message.id"] {
            Any::StringValue(id) => id.clone(),
            other => panic!("{other:?}"),
        };
        let failed = child.status.as_ref().is_some_and(|s| s.code == 2);
        assert_eq!(failed, id == "m-2", "{id}");
        let links = if id == "m-3" { 0 } else { 1 };
        assert_eq!(child.links.len(), links, "{id}");
    }
}

#[test]
fn concurrent_invocations_each_take_their_own_parent_and_one_cold_start() {
    let (collector, api, _function) = launch(
        env!("CARGO_BIN_EXE_aws-http-api"),
        Behaviour::Accept,
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")],
    );
    let mut expected = HashMap::new();
    let ids: Vec<String> = (0..8u64)
        .map(|i| {
            let trace = format!("{:032x}", 0x1000 + i);
            let xray = format!(
                "Root=1-{}-{};Parent={:016x};Sampled=1",
                &trace[..8],
                &trace[8..],
                0x77 + i
            );
            let id = api.enqueue(Invoke {
                body: http_event("GET", "/hello", &[]),
                trace_id: Some(xray),
                ..Invoke::default()
            });
            expected.insert(id.clone(), trace);
            id
        })
        .collect();
    for id in &ids {
        assert_eq!(api.wait_answer(id).kind, "response");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while spans_named(&collector, "GET /hello").len() < 8 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let spans = spans_named(&collector, "GET /hello");
    assert_eq!(spans.len(), 8);
    let mut cold = 0;
    for span in &spans {
        let a = attrs(span);
        let Any::StringValue(id) = &a["faas.invocation_id"] else {
            panic!()
        };
        assert_eq!(hex(&span.trace_id), expected[id], "parent of {id}");
        cold += usize::from(a["faas.coldstart"] == Any::BoolValue(true));
    }
    assert_eq!(cold, 1);
}

#[test]
fn warmup_pings_skip_the_handler_and_absorb_the_cold_start() {
    let (collector, api, _function) = launch(
        env!("CARGO_BIN_EXE_aws-http-api"),
        Behaviour::Accept,
        &[("FAAS_OTEL_WARMUP", "source=serverless-plugin-warmup")],
    );
    // Not an HTTP event: had the handler run, lambda_http would have failed to parse it.
    let ping = api.invoke(Invoke {
        body: r#"{"source":"serverless-plugin-warmup"}"#.to_owned(),
        ..Invoke::default()
    });
    assert_eq!(
        (ping.kind, ping.body.as_str()),
        ("response", r#"{"warmup":true}"#)
    );
    let real = get(&api, "/hello");
    assert_eq!(real.kind, "response");
    api.wait_next_calls(3);

    let all = collector.spans.lock().unwrap().clone();
    let warm = all
        .iter()
        .find(|s| attrs(s).get("faas_otel.warmup") == Some(&Any::BoolValue(true)))
        .unwrap();
    assert_eq!(attrs(warm)["faas.coldstart"], Any::BoolValue(true));
    let hello = &spans_named(&collector, "GET /hello")[0];
    assert_eq!(attrs(hello)["faas.coldstart"], Any::BoolValue(false));
}

#[test]
fn a_panic_is_recorded_and_the_runtime_keeps_serving() {
    let (collector, api, _function) =
        launch(env!("CARGO_BIN_EXE_aws-http-api"), Behaviour::Accept, &[]);
    let panicked = get(&api, "/panic");
    assert_eq!(panicked.kind, "error");
    let after = get(&api, "/hello");
    assert_eq!(after.kind, "response");
    api.wait_next_calls(3);
    let span = &spans_named(&collector, "GET /panic")[0];
    assert_eq!(attrs(span)["error.type"], s("panic"));
    assert_eq!(span.status.clone().unwrap().code, 2);
    assert_eq!(spans_named(&collector, "GET /hello").len(), 1);
}

#[test]
fn a_direct_invoke_takes_its_parent_from_the_client_context() {
    let (collector, api, _function) = launch(
        env!("CARGO_BIN_EXE_aws-sqs-consumer"),
        Behaviour::Accept,
        &[],
    );
    // As the SDK's Invoke sends it (base64 on the wire to Lambda, JSON on the Runtime API).
    let client_context = serde_json::json!({ "custom": { "traceparent": TRACEPARENT } });
    let answer = api.invoke(Invoke {
        body: r#"{"Records":[]}"#.to_owned(),
        client_context: Some(client_context.to_string()),
        trace_id: Some(XRAY.to_owned()),
        ..Invoke::default()
    });
    assert_eq!(answer.kind, "response");
    api.wait_next_calls(2);
    let span = &spans_named(&collector, "orders")[0];
    assert_eq!(attrs(span)["faas.trigger"], s("other"));
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
}

#[test]
fn spans_a_flush_dropped_are_counted_on_the_next_invocation() {
    let (collector, api, _function) =
        launch(env!("CARGO_BIN_EXE_aws-http-api"), Behaviour::FailOnce, &[]);
    for _ in 0..2 {
        let answer = get(&api, "/hello");
        assert_eq!(answer.kind, "response");
    }
    api.wait_next_calls(3);
    // The first flush (invocation, `faas init` and its 3 phases) met a 500.
    let spans = spans_named(&collector, "GET /hello");
    assert_eq!(spans.len(), 1);
    assert_eq!(
        attrs(&spans[0])["faas_otel.flush.dropped_spans"],
        Any::IntValue(5)
    );
}

/// Moto's endpoint from `cargo xtask test`; `None` (with a visible line) under a plain
/// `cargo test`, a failure under `CI=true` so CI never passes without it.
fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var("FAAS_OTEL_TEST_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => Some(endpoint.trim().to_owned()),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: FAAS_OTEL_TEST_MOTO_ENDPOINT unset under CI: run `cargo xtask test`"
            );
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: run `cargo xtask test` (moto)"
            );
            None
        }
    }
}

#[test]
fn one_trace_from_the_http_call_through_sqs_to_the_consumer() {
    let Some(moto) = moto_endpoint("one_trace_from_the_http_call_through_sqs_to_the_consumer")
    else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sqs = rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto)
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::for_tests())
            .load()
            .await;
        aws_sdk_sqs::Client::new(&config)
    });
    let queue_name = format!("orders-{}", std::process::id());
    let queue_url = rt
        .block_on(sqs.create_queue().queue_name(&queue_name).send())
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let aws = [
        ("ORDERS_QUEUE_URL", queue_url.as_str()),
        ("AWS_ENDPOINT_URL", moto.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];

    // 1. The HTTP function sends the order.
    let (collector, api, _function) =
        launch(env!("CARGO_BIN_EXE_aws-http-api"), Behaviour::Accept, &aws);
    let answer = api.invoke(Invoke {
        body: http_event_with_body(
            "POST",
            "/orders",
            &[("traceparent", TRACEPARENT)],
            Some(r#"{"order":42}"#),
        ),
        ..Invoke::default()
    });
    assert_eq!(answer.kind, "response", "{}", answer.body);
    api.wait_next_calls(2);
    let http = &spans_named(&collector, "POST /orders")[0];
    let send = &spans_named(&collector, &format!("send {queue_name}"))[0];
    assert_eq!(hex(&http.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(send.trace_id, http.trace_id);
    assert_eq!(send.parent_span_id, http.span_id);
    assert_eq!(send.kind, SpanKind::Producer as i32);
    assert_eq!(attrs(send)["messaging.system"], s("aws_sqs"));

    // 2. The message in the queue, as Lambda's event source mapping would deliver it.
    let received = rt
        .block_on(
            sqs.receive_message()
                .queue_url(&queue_url)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .send(),
        )
        .unwrap();
    let message = &received.messages()[0];
    let traceparent = message.message_attributes().unwrap()["traceparent"]
        .string_value()
        .unwrap();
    let record = sqs_record(
        message.message_id().unwrap(),
        message.body().unwrap(),
        serde_json::json!({"traceparent": {"stringValue": traceparent, "dataType": "String"}}),
        serde_json::json!({}),
    );
    let mut record = record;
    record["eventSourceARN"] =
        serde_json::json!(format!("arn:aws:sqs:eu-west-1:123456789012:{queue_name}"));

    // 3. The consumer links its processing to the send.
    let (consumer_collector, consumer_api, _consumer) = launch(
        env!("CARGO_BIN_EXE_aws-sqs-consumer"),
        Behaviour::Accept,
        &[],
    );
    let answer = consumer_api.invoke(Invoke {
        body: serde_json::json!({ "Records": [record] }).to_string(),
        ..Invoke::default()
    });
    assert_eq!(answer.kind, "response");
    consumer_api.wait_next_calls(2);
    let batch = spans_named(&consumer_collector, &format!("{queue_name} process"))
        .into_iter()
        .find(|s| s.parent_span_id.is_empty())
        .unwrap();
    assert_eq!(batch.links.len(), 1);
    assert_eq!(
        batch.links[0].trace_id, http.trace_id,
        "same trace end to end"
    );
    assert_eq!(
        batch.links[0].span_id, send.span_id,
        "linked to the producer span"
    );
}

/// A stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) that
/// records the request heads and answers `{"ok":true}`.
fn fake_lambda_invoke_api() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = heads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the head and the (small) body.
            while let Ok(n) = stream.read(&mut buf) {
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if data.len() >= end + 4 + length {
                        recorded.lock().unwrap().push(text[..end].to_owned());
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let body = r#"{"ok":true}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-amz-executed-version: $LATEST\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, heads)
}

#[test]
fn a_chained_invoke_carries_the_invoke_span_in_the_client_context() {
    let (endpoint, heads) = fake_lambda_invoke_api();
    let (collector, api, _function) = launch(
        env!("CARGO_BIN_EXE_aws-chain"),
        Behaviour::Accept,
        &[
            ("TARGET_FUNCTION", "billing"),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    );
    let answer = api.invoke(Invoke {
        body: r#"{"order":42}"#.to_owned(),
        trace_id: Some(XRAY.to_owned()),
        ..Invoke::default()
    });
    assert_eq!(
        (answer.kind, answer.body.as_str()),
        ("response", r#"{"ok":true}"#)
    );
    api.wait_next_calls(2);

    let invocation = &spans_named(&collector, "orders")[0];
    let invoke = &spans_named(&collector, "billing invoke")[0];
    assert_eq!(invoke.kind, SpanKind::Client as i32);
    assert_eq!(invoke.parent_span_id, invocation.span_id);
    let a = attrs(invoke);
    assert_eq!(a["faas.invoked_name"], s("billing"));
    assert_eq!(a["faas.invoked_provider"], s("aws"));
    assert_eq!(a["faas.invoked_region"], s("eu-west-1"));

    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    let encoded = heads[0]
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("x-amz-client-context")
                .then(|| v.trim().to_owned())
        })
        .expect("client context header");
    let decoded = base64_decode(&encoded);
    let context: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    let traceparent = context["custom"]["traceparent"].as_str().unwrap();
    assert_eq!(
        traceparent,
        format!("00-{}-{}-01", hex(&invoke.trace_id), hex(&invoke.span_id))
    );
}

/// Standard base64 (the client context's encoding), decoded without another dependency.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    bytes
        .chunks(4)
        .flat_map(|chunk| {
            let n = chunk.iter().fold(0u32, |acc, &v| (acc << 6) | u32::from(v))
                << (6 * (4 - chunk.len()));
            let out = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.into_iter().take(chunk.len().saturating_sub(1))
        })
        .collect()
}
