//! The example functions under the workspace's Lambda emulator (`lambda-emulator`'s scripted
//! mode: the documented Runtime API for a function process the test starts with Lambda's
//! environment), exporting to the test kit's OTLP/HTTP receiver, whose requests are decoded
//! with `opentelemetry-proto`.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use faas_testkit::otlp::proto::tonic::common::v1::any_value::Value as Any;
use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::proto::tonic::trace::v1::span::SpanKind;
use faas_testkit::otlp::{OtlpReceiver, attribute_map, hex};
use faas_testkit::{FakeHttp, PATIENCE, Process, RefusedPort, Reply, moto_endpoint};
use lambda_emulator::{Entry, InvokeEvent, InvokeResult, ScriptedLambda};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:orders";

/// The Runtime API of function `orders` in eu-west-1, keeping at most `max_concurrency`
/// invocations in flight (above 1 the function is told so by `AWS_LAMBDA_MAX_CONCURRENCY`).
fn lambda(max_concurrency: usize) -> ScriptedLambda {
    let lambda = support::scripted_lambda(max_concurrency);
    assert_eq!(lambda.function_arn(), FUNCTION_ARN);
    lambda
}

/// The log stream and group Lambda names for the function.
const LOG: [(&str, &str); 2] = [
    ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/26/[$LATEST]0123"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders"),
];

/// The function `binary` started as Lambda starts a runtime, against `lambda`, exporting to
/// `endpoint`.
fn start(binary: &str, lambda: &ScriptedLambda, endpoint: &str, extra: &[(&str, &str)]) -> Process {
    let vars = [&LOG[..], extra].concat();
    support::start_runtime(binary, lambda, endpoint, &vars)
}

/// A receiver answering `script` (then accepting), a Runtime API and the function `binary`
/// running against them.
fn launch(
    binary: &str,
    script: &[Reply],
    extra: &[(&str, &str)],
) -> (OtlpReceiver, ScriptedLambda, Process) {
    launch_on(lambda(1), binary, script, extra)
}

/// [`launch`] on the Runtime API `api`.
fn launch_on(
    api: ScriptedLambda,
    binary: &str,
    script: &[Reply],
    extra: &[(&str, &str)],
) -> (OtlpReceiver, ScriptedLambda, Process) {
    let collector = OtlpReceiver::builder()
        .script(script.to_vec())
        .start()
        .unwrap();
    let function = start(binary, &api, &collector.url(), extra);
    (collector, api, function)
}

/// An invocation with event `body`, a fresh request id and no `Lambda-Runtime-Trace-Id`
/// (add one with [`InvokeEvent::trace_header`]).
fn invocation(body: impl Into<Vec<u8>>) -> InvokeEvent {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    InvokeEvent::new(format!("00000000-0000-4000-8000-{n:012}"))
        .payload(body)
        .without_trace_header()
}

/// Whether the function posted a response (not an error) for `answer`.
fn responded(answer: &InvokeResult) -> bool {
    answer.error.is_none()
}

/// Invokes the HTTP function with `GET path` and no extra header.
fn get(api: &ScriptedLambda, path: &str) -> InvokeResult {
    api.invoke_and_answer(invocation(http_event("GET", path, &[])))
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
    attribute_map(&span.attributes)
}

fn s(v: &str) -> Any {
    Any::StringValue(v.to_owned())
}

#[test]
fn http_invocations_cold_then_warm_with_w3c_and_xray_parents() {
    let (collector, api, _function) = launch(env!("CARGO_BIN_EXE_aws-http-api"), &[], &[]);

    let first = api.invoke_and_answer(
        invocation(http_event("GET", "/hello", &[("traceparent", TRACEPARENT)])).trace_header(XRAY),
    );
    assert!(responded(&first), "{}", first.text());
    let response: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(response["statusCode"], 200);
    let second =
        api.invoke_and_answer(invocation(http_event("GET", "/hello", &[])).trace_header(XRAY));
    api.wait_runtime_nexts(3);

    let spans = collector.spans_named("GET /hello");
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

    let all = collector.spans();
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
    let (collector, api, _function) = launch(env!("CARGO_BIN_EXE_aws-http-api"), &[], &[]);

    let ok = api.invoke_and_answer(
        invocation(http_event(
            "GET",
            "/hello",
            &[("traceparent", "00-zz-not-a-traceparent-01")],
        ))
        .trace_header("Root=garbage;Parent=;Sampled="),
    );
    assert!(responded(&ok), "{}", ok.text());
    let failed = get(&api, "/fail");
    assert!(!responded(&failed), "{}", failed.text());
    api.wait_runtime_nexts(3);

    let hello = &collector.spans_named("GET /hello")[0];
    assert!(hello.parent_span_id.is_empty(), "fresh root expected");
    let fail = &collector.spans_named("GET /fail")[0];
    let status = fail.status.clone().unwrap();
    assert_eq!(status.code, 2, "error status");
    assert_eq!(status.message, "the order service is unavailable");
    assert_eq!(attrs(fail)["error.type"], s("Error"));
    assert_eq!(fail.events.len(), 1);
    assert_eq!(fail.events[0].name, "exception");
}

/// `reply`: how the receiver answers; `None`: a refused port instead of a receiver.
fn time_back_at_next(reply: Option<Reply>, extra: &[(&str, &str)]) -> Duration {
    let collector = reply.map(|r| OtlpReceiver::answering(r).unwrap());
    let refused = RefusedPort::new().unwrap();
    let endpoint = collector
        .as_ref()
        .map(|c| c.url())
        .unwrap_or_else(|| refused.url());
    let api = lambda(1);
    let _function = start(env!("CARGO_BIN_EXE_aws-http-api"), &api, &endpoint, extra);
    let answer = get(&api, "/hello");
    assert!(responded(&answer), "{}", answer.text());
    let next = api.wait_runtime_nexts(2).at;
    next.saturating_duration_since(answer.timings.completed)
}

#[test]
fn a_refused_collector_lets_the_runtime_return_to_next_within_half_a_second() {
    let back = time_back_at_next(None, &[]);
    assert!(back < Duration::from_millis(500), "{back:?}");
}

#[test]
fn a_stalled_collector_costs_at_most_the_flush_budget() {
    let started = Instant::now();
    let back = time_back_at_next(Some(Reply::Stall), &[("FAAS_OTEL_FLUSH_TIMEOUT_MS", "300")]);
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
    let (collector, api, _function) = launch(env!("CARGO_BIN_EXE_aws-sqs-consumer"), &[], &[]);
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
    let answer = api.invoke_and_answer(invocation(event.to_string()));
    let response: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(response["batchItemFailures"][0]["itemIdentifier"], "m-2");
    api.wait_runtime_nexts(2);

    let spans = collector.spans_named("orders-queue process");
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
    // As on Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY=4`, and up to four
    // invocations in flight, each handed to one of the runtime's concurrent `next` callers.
    let (collector, api, _function) =
        launch_on(lambda(4), env!("CARGO_BIN_EXE_aws-http-api"), &[], &[]);
    // All four of the runtime's `next` callers wait before the events go in together, so four
    // are in flight at once however the threads are scheduled (one by one, a loaded machine
    // answered the first before the second went in).
    api.wait_runtime_nexts(4);
    let mut expected = HashMap::new();
    let mut events = Vec::new();
    let ids: Vec<String> = (0..8u64)
        .map(|i| {
            let trace = format!("{:032x}", 0x1000 + i);
            let xray = format!(
                "Root=1-{}-{};Parent={:016x};Sampled=1",
                &trace[..8],
                &trace[8..],
                0x77 + i
            );
            let event = invocation(http_event("GET", "/hello", &[])).trace_header(xray);
            let id = event.request_id.clone();
            events.push(event);
            expected.insert(id.clone(), trace);
            id
        })
        .collect();
    api.invoke_all(events);
    for id in &ids {
        let answer = api.wait_answer(id);
        assert!(responded(&answer), "{}", answer.text());
    }
    assert_eq!(api.max_runtime_in_flight(), 4, "the invocations overlapped");
    let deadline = Instant::now() + Duration::from_secs(10);
    while collector.spans_named("GET /hello").len() < 8 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let spans = collector.spans_named("GET /hello");
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
        &[],
        &[("FAAS_OTEL_WARMUP", "source=serverless-plugin-warmup")],
    );
    // Not an HTTP event: had the handler run, lambda_http would have failed to parse it.
    let ping = api.invoke_and_answer(invocation(r#"{"source":"serverless-plugin-warmup"}"#));
    assert_eq!(
        (responded(&ping), ping.text().as_str()),
        (true, r#"{"warmup":true}"#)
    );
    let real = get(&api, "/hello");
    assert!(responded(&real), "{}", real.text());
    api.wait_runtime_nexts(3);

    let all = collector.spans();
    let warm = all
        .iter()
        .find(|s| attrs(s).get("faas_otel.warmup") == Some(&Any::BoolValue(true)))
        .unwrap();
    assert_eq!(attrs(warm)["faas.coldstart"], Any::BoolValue(true));
    let hello = &collector.spans_named("GET /hello")[0];
    assert_eq!(attrs(hello)["faas.coldstart"], Any::BoolValue(false));
}

#[test]
fn a_panic_is_recorded_and_the_runtime_keeps_serving() {
    let (collector, api, _function) = launch(env!("CARGO_BIN_EXE_aws-http-api"), &[], &[]);
    let panicked = get(&api, "/panic");
    assert!(!responded(&panicked), "{}", panicked.text());
    let after = get(&api, "/hello");
    assert!(responded(&after), "{}", after.text());
    api.wait_runtime_nexts(3);
    let span = &collector.spans_named("GET /panic")[0];
    assert_eq!(attrs(span)["error.type"], s("panic"));
    assert_eq!(span.status.clone().unwrap().code, 2);
    assert_eq!(collector.spans_named("GET /hello").len(), 1);
}

#[test]
fn a_direct_invoke_takes_its_parent_from_the_client_context() {
    let (collector, api, _function) = launch(env!("CARGO_BIN_EXE_aws-sqs-consumer"), &[], &[]);
    // As the SDK's Invoke sends it (base64 on the wire to Lambda, JSON on the Runtime API).
    let client_context = serde_json::json!({ "custom": { "traceparent": TRACEPARENT } });
    let answer = api.invoke_and_answer(
        invocation(r#"{"Records":[]}"#)
            .trace_header(XRAY)
            .client_context(client_context.to_string()),
    );
    assert!(responded(&answer), "{}", answer.text());
    api.wait_runtime_nexts(2);
    let span = &collector.spans_named("orders")[0];
    assert_eq!(attrs(span)["faas.trigger"], s("other"));
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
}

#[test]
fn spans_a_flush_dropped_are_counted_on_the_next_invocation() {
    let (collector, api, _function) = launch(
        env!("CARGO_BIN_EXE_aws-http-api"),
        &[Reply::status(500)],
        &[],
    );
    for _ in 0..2 {
        let answer = get(&api, "/hello");
        assert!(responded(&answer), "{}", answer.text());
    }
    api.wait_runtime_nexts(3);
    // The first flush (invocation, `faas init` and its 3 phases) met a 500.
    let spans = collector.spans_named("GET /hello");
    assert_eq!(spans.len(), 1);
    assert_eq!(
        attrs(&spans[0])["faas_otel.flush.dropped_spans"],
        Any::IntValue(5)
    );
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
    let (collector, api, _function) = launch(env!("CARGO_BIN_EXE_aws-http-api"), &[], &aws);
    let answer = api.invoke_and_answer(invocation(http_event_with_body(
        "POST",
        "/orders",
        &[("traceparent", TRACEPARENT)],
        Some(r#"{"order":42}"#),
    )));
    assert!(responded(&answer), "{}", answer.text());
    api.wait_runtime_nexts(2);
    let http = &collector.spans_named("POST /orders")[0];
    let send = &collector.spans_named(&format!("send {queue_name}"))[0];
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
    let (consumer_collector, consumer_api, _consumer) =
        launch(env!("CARGO_BIN_EXE_aws-sqs-consumer"), &[], &[]);
    let answer = consumer_api.invoke_and_answer(invocation(
        serde_json::json!({ "Records": [record] }).to_string(),
    ));
    assert!(responded(&answer), "{}", answer.text());
    consumer_api.wait_runtime_nexts(2);
    let batch = consumer_collector
        .spans_named(&format!("{queue_name} process"))
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
/// records the requests and answers `{"ok":true}`.
fn fake_lambda_invoke_api() -> FakeHttp {
    let api = FakeHttp::local().unwrap();
    api.set_default(
        Reply::status(200)
            .header("content-type", "application/json")
            .header("x-amz-executed-version", "$LATEST")
            .body(r#"{"ok":true}"#),
    );
    api
}

#[test]
fn a_chained_invoke_carries_the_invoke_span_in_the_client_context() {
    let invoke_api = fake_lambda_invoke_api();
    let endpoint = invoke_api.url();
    let (collector, api, _function) = launch(
        env!("CARGO_BIN_EXE_aws-chain"),
        &[],
        &[
            ("TARGET_FUNCTION", "billing"),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    );
    let answer = api.invoke_and_answer(invocation(r#"{"order":42}"#).trace_header(XRAY));
    assert_eq!(
        (responded(&answer), answer.text().as_str()),
        (true, r#"{"ok":true}"#)
    );
    api.wait_runtime_nexts(2);

    let invocation = &collector.spans_named("orders")[0];
    let invoke = &collector.spans_named("billing invoke")[0];
    assert_eq!(invoke.kind, SpanKind::Client as i32);
    assert_eq!(invoke.parent_span_id, invocation.span_id);
    let a = attrs(invoke);
    assert_eq!(a["faas.invoked_name"], s("billing"));
    assert_eq!(a["faas.invoked_provider"], s("aws"));
    assert_eq!(a["faas.invoked_region"], s("eu-west-1"));

    let heads = invoke_api.requests();
    assert_eq!(heads.len(), 1, "{heads:?}");
    let encoded = heads[0]
        .header("x-amz-client-context")
        .expect("client context header");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let context: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    let traceparent = context["custom"]["traceparent"].as_str().unwrap();
    assert_eq!(
        traceparent,
        format!("00-{}-{}-01", hex(&invoke.trace_id), hex(&invoke.span_id))
    );
}

/// The flush runs while `lambda_runtime` posts the response, so a cycle pays the longer of the
/// two round trips, not both: with the Runtime API holding its answer to the response POST,
/// the invocation span still reaches the collector, and the runtime asks for the next event
/// only after the answer. For the plain handler (`OutcomeLayer`) and the `lambda_http` one
/// (`HttpOutcomeLayer`). Before, the export waited for the POST's answer.
#[test]
fn the_spans_are_exported_while_the_response_is_posted() {
    let sqs_event = serde_json::json!({ "Records": [sqs_record(
        "m-1",
        "order 1",
        serde_json::json!({}),
        serde_json::json!({}),
    )]})
    .to_string();
    let http = http_event("GET", "/hello", &[]);
    for (binary, event) in [
        (env!("CARGO_BIN_EXE_aws-sqs-consumer"), sqs_event),
        (env!("CARGO_BIN_EXE_aws-http-api"), http),
    ] {
        let (collector, api, _function) = launch(binary, &[], &[]);
        api.wait_runtime_nexts(1);
        api.hold_answers(true);
        let event = invocation(event);
        let id = event.request_id.clone();
        api.invoke(event);
        api.wait_until("the response POST", |entries| {
            entries.iter().any(|l| l.entry.is_answer_to(&id))
        });
        let exported = faas_testkit::wait_until("the invocation span", PATIENCE, || {
            (!collector.spans_with("faas.invocation_id", &id).is_empty()).then_some(())
        });
        assert!(
            exported.is_ok(),
            "{binary}: no span while the response POST was held: {:?}",
            collector.span_names()
        );
        assert_eq!(
            api.count(Entry::is_runtime_next),
            1,
            "{binary}: next before the answer"
        );
        api.hold_answers(false);
        api.wait_runtime_nexts(2);
    }
}
