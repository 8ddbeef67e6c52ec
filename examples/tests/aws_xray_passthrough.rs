//! Lambda's default tracing mode (PassThrough) hands each invocation an X-Ray header that says
//! `Sampled=0`, or only names a `Root`. Those invocations are traced anyway: the example
//! functions run under the workspace's Lambda emulator (scripted mode) with the default
//! parent-based sampler, export to the test kit's OTLP receiver, and each such invocation
//! arrives as a fresh root that keeps the X-Ray trace id (`faas_otel.xray.trace_id`) and links
//! to the X-Ray segment; only a `Sampled=1` header is a parent. Same for SQS `AWSTraceHeader`.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::{hex, str_attr};
use lambda_emulator::InvokeEvent;

const XRAY_TRACE: &str = "5759e988bd862e3fe1be46a994272793";
const XRAY_ID: &str = "1-5759e988-bd862e3fe1be46a994272793";
const SEGMENT: &str = "53995c3f42cd8ad8";
const SAMPLED: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const UNSAMPLED: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
const DEFERRED: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8";
const ROOT_ONLY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793";
const ROOT_ONLY_SAMPLED_0: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0";
/// A second X-Ray trace, for the messages of a batch.
const MESSAGE_TRACE: &str = "6a8b9c0d1e2f30415263748596a7b8c9";
const MESSAGE_UNSAMPLED: &str =
    "Root=1-6a8b9c0d-1e2f30415263748596a7b8c9;Parent=00f067aa0ba902b7;Sampled=0";
const MESSAGE_ROOT_ONLY: &str = "Root=1-0a1b2c3d-4e5f60718293a4b5c6d7e8f9";

/// An invocation of `payload` whose `Lambda-Runtime-Trace-Id` is `trace_header`.
fn invocation(payload: String, trace_header: &str) -> InvokeEvent {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    InvokeEvent::new(format!("00000000-0000-4000-9000-{n:012}"))
        .payload(payload)
        .trace_header(trace_header)
}

/// An API Gateway HTTP API `GET /hello` with the request headers `headers`.
fn get_hello(headers: serde_json::Value) -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /hello",
        "rawPath": "/hello",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "http": {"method": "GET", "path": "/hello", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "curl/8.5.0"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "GET /hello",
            "stage": "$default",
            "timeEpoch": 1795716000000u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// The (trace id, span id, sampled flag) of each link of `span`.
fn links(span: &Span) -> Vec<(String, String, bool)> {
    span.links
        .iter()
        .map(|l| (hex(&l.trace_id), hex(&l.span_id), l.flags & 1 == 1))
        .collect()
}

fn segment_link(sampled: bool) -> (String, String, bool) {
    (XRAY_TRACE.to_owned(), SEGMENT.to_owned(), sampled)
}

#[test]
fn http_invocations_with_passthrough_headers_are_fresh_sampled_roots_correlated_to_xray() {
    let (collector, api, _function) =
        support::launch_runtime(env!("CARGO_BIN_EXE_aws-http-api"), &[]);
    // (Lambda-Runtime-Trace-Id, is the parent, links to the segment)
    let cases: &[(&str, bool, bool)] = &[
        (UNSAMPLED, false, true),
        (DEFERRED, false, true),
        (ROOT_ONLY, false, false),
        (ROOT_ONLY_SAMPLED_0, false, false),
        (SAMPLED, true, false),
    ];
    let mut ids = Vec::new();
    for (header, _, _) in cases {
        let answer = api.invoke_and_answer(invocation(get_hello(serde_json::json!({})), header));
        assert!(answer.error.is_none(), "{header}: {}", answer.text());
        ids.push(answer.request_id);
    }
    api.wait_runtime_nexts(cases.len() + 1);

    let spans = collector.spans_named("GET /hello");
    assert_eq!(spans.len(), cases.len(), "every invocation is traced");
    for ((header, parent, link), id) in cases.iter().zip(&ids) {
        let span = spans
            .iter()
            .find(|s| str_attr(&s.attributes, "faas.invocation_id") == Some(id))
            .unwrap();
        if *parent {
            assert_eq!(hex(&span.trace_id), XRAY_TRACE, "{header}");
            assert_eq!(hex(&span.parent_span_id), SEGMENT, "{header}");
            assert!(span.links.is_empty(), "{header}");
            assert_eq!(
                str_attr(&span.attributes, "faas_otel.xray.trace_id"),
                None,
                "{header}"
            );
        } else {
            assert!(span.parent_span_id.is_empty(), "{header}: a fresh root");
            assert_ne!(
                hex(&span.trace_id),
                XRAY_TRACE,
                "{header}: a trace of its own"
            );
            assert_eq!(
                str_attr(&span.attributes, "faas_otel.xray.trace_id"),
                Some(XRAY_ID),
                "{header}"
            );
            let expected = if *link {
                vec![segment_link(false)]
            } else {
                vec![]
            };
            assert_eq!(links(span), expected, "{header}");
        }
    }
    // The cold start rides on the first (Sampled=0) invocation's fresh trace.
    let init = &collector.spans_named("faas init")[0];
    let first = spans
        .iter()
        .find(|s| str_attr(&s.attributes, "faas.invocation_id") == Some(&ids[0]))
        .unwrap();
    assert_eq!(init.trace_id, first.trace_id);
    assert_eq!(init.parent_span_id, first.span_id);
}

#[test]
fn xray_parent_false_makes_even_a_sampled_header_a_correlated_root() {
    let (collector, api, _function) = support::launch_runtime(
        env!("CARGO_BIN_EXE_aws-http-api"),
        &[("FAAS_OTEL_XRAY_PARENT", "false")],
    );
    let answer = api.invoke_and_answer(invocation(get_hello(serde_json::json!({})), SAMPLED));
    assert!(answer.error.is_none(), "{}", answer.text());
    api.wait_runtime_nexts(2);
    let span = &collector.spans_named("GET /hello")[0];
    assert!(span.parent_span_id.is_empty());
    assert_ne!(hex(&span.trace_id), XRAY_TRACE);
    assert_eq!(
        str_attr(&span.attributes, "faas_otel.xray.trace_id"),
        Some(XRAY_ID)
    );
    assert_eq!(links(span), vec![segment_link(true)]);
}

#[test]
fn an_unsampled_xray_request_header_is_linked_not_parented_while_w3c_decisions_stand() {
    let (collector, api, _function) = support::launch_runtime(
        env!("CARGO_BIN_EXE_aws-http-api"),
        &[("OTEL_PROPAGATORS", "tracecontext,xray")],
    );
    // API Gateway's own X-Amzn-Trace-Id with Sampled=0, Lambda's header Root-only.
    let passive = api.invoke_and_answer(invocation(
        get_hello(serde_json::json!({ "x-amzn-trace-id": MESSAGE_UNSAMPLED })),
        ROOT_ONLY,
    ));
    // A sampled X-Ray request header is the parent, as before.
    let active = api.invoke_and_answer(invocation(
        get_hello(serde_json::json!({ "x-amzn-trace-id": SAMPLED })),
        ROOT_ONLY,
    ));
    assert!(passive.error.is_none() && active.error.is_none());
    api.wait_runtime_nexts(3);
    let by_id = |id: &str| {
        collector
            .spans_named("GET /hello")
            .into_iter()
            .find(|s| str_attr(&s.attributes, "faas.invocation_id") == Some(id))
            .unwrap()
    };

    let span = by_id(&passive.request_id);
    assert!(span.parent_span_id.is_empty());
    assert_ne!(hex(&span.trace_id), MESSAGE_TRACE);
    assert_eq!(
        links(&span),
        vec![(
            MESSAGE_TRACE.to_owned(),
            "00f067aa0ba902b7".to_owned(),
            false
        )]
    );
    // The invocation's own (Root-only) X-Ray trace id.
    assert_eq!(
        str_attr(&span.attributes, "faas_otel.xray.trace_id"),
        Some(XRAY_ID)
    );

    let span = by_id(&active.request_id);
    assert_eq!(hex(&span.trace_id), XRAY_TRACE);
    assert_eq!(hex(&span.parent_span_id), SEGMENT);
}

fn sqs_record(id: &str, aws_trace_header: Option<&str>) -> serde_json::Value {
    let system = match aws_trace_header {
        Some(header) => serde_json::json!({ "AWSTraceHeader": header }),
        None => serde_json::json!({}),
    };
    serde_json::json!({
        "messageId": id,
        "receiptHandle": "AQEB",
        "body": "order",
        "attributes": system,
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders-queue",
        "awsRegion": "eu-west-1"
    })
}

#[test]
fn sqs_batches_under_passthrough_are_traced_and_keep_every_xray_trace_id() {
    let (collector, api, _function) =
        support::launch_runtime(env!("CARGO_BIN_EXE_aws-sqs-consumer"), &[]);
    let event = serde_json::json!({ "Records": [
        sqs_record("m-1", Some(MESSAGE_UNSAMPLED)),
        sqs_record("m-2", Some(MESSAGE_ROOT_ONLY)),
        sqs_record("m-3", None),
    ]});
    let unsampled = api.invoke_and_answer(invocation(event.to_string(), UNSAMPLED));
    let root_only = api.invoke_and_answer(invocation(event.to_string(), ROOT_ONLY));
    assert!(unsampled.error.is_none(), "{}", unsampled.text());
    assert!(root_only.error.is_none(), "{}", root_only.text());
    api.wait_runtime_nexts(3);

    let spans = collector.spans_named("orders-queue process");
    assert_eq!(
        spans.len(),
        8,
        "two batch spans and three message spans each"
    );
    let message_link = (
        MESSAGE_TRACE.to_owned(),
        "00f067aa0ba902b7".to_owned(),
        false,
    );
    for (answer, batch_links) in [
        (&unsampled, vec![message_link.clone(), segment_link(false)]),
        (&root_only, vec![message_link.clone()]),
    ] {
        let batch = spans
            .iter()
            .find(|s| str_attr(&s.attributes, "faas.invocation_id") == Some(&answer.request_id))
            .unwrap();
        assert!(batch.parent_span_id.is_empty(), "a fresh root");
        assert_ne!(hex(&batch.trace_id), XRAY_TRACE);
        assert_eq!(
            str_attr(&batch.attributes, "faas_otel.xray.trace_id"),
            Some(XRAY_ID)
        );
        // The messages' links in order, then the invocation's X-Ray segment when it has one.
        assert_eq!(links(batch), batch_links);

        let children: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_span_id == batch.span_id)
            .collect();
        assert_eq!(children.len(), 3);
        for child in children {
            assert_eq!(child.trace_id, batch.trace_id);
            let id = str_attr(&child.attributes, "messaging.message.id").unwrap();
            let xray = str_attr(&child.attributes, "faas_otel.xray.trace_id");
            match id {
                "m-1" => {
                    assert_eq!(links(child), vec![message_link.clone()]);
                    assert_eq!(xray, None, "linked: no attribute needed");
                }
                "m-2" => {
                    assert!(child.links.is_empty(), "Root-only: nothing to link to");
                    assert_eq!(xray, Some("1-0a1b2c3d-4e5f60718293a4b5c6d7e8f9"));
                }
                "m-3" => {
                    assert!(child.links.is_empty());
                    assert_eq!(xray, None);
                }
                other => panic!("unexpected message {other}"),
            }
        }
    }
}
