//! The interceptor's spans, attribute by attribute: PRODUCER for SendMessage, CLIENT for other
//! operations, error attributes on failure.

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status};

use crate::fixtures::*;

#[tokio::test]
async fn producer_and_client_span_attributes() {
    let Some(endpoint) = moto_endpoint("producer_and_client_span_attributes") else {
        return;
    };
    let telemetry = Telemetry::new();
    let sqs = traced_sqs(&endpoint, &telemetry).await;
    let name = unique("attributes");
    let parent = telemetry.parent();
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .with_context(parent.clone())
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .with_context(parent.clone())
        .await
        .unwrap();

    let producer = telemetry.span(&format!("send {name}"));
    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(producer.parent_span_id, parent_span_id(&parent));
    assert_eq!(producer.instrumentation_scope.name(), "faas-otel");
    let request_id = attribute(&producer, "aws.request_id")
        .expect("aws.request_id")
        .to_string();
    assert!(!request_id.is_empty());
    let mut expected = vec![
        ("aws.request_id", request_id),
        ("aws.sqs.queue.url", url.clone()),
        ("cloud.region", "us-east-1".to_owned()),
        ("http.response.status_code", "200".to_owned()),
        ("messaging.destination.name", name.clone()),
        ("messaging.message.id", sent.message_id.clone().unwrap()),
        ("messaging.operation.name", "send".to_owned()),
        ("messaging.operation.type", "send".to_owned()),
        ("messaging.system", "aws_sqs".to_owned()),
        ("rpc.method", "SendMessage".to_owned()),
        ("rpc.service", "SQS".to_owned()),
        ("rpc.system", "aws-api".to_owned()),
    ];
    expected.sort();
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(attributes(&producer), expected);
    assert_eq!(producer.status, Status::Unset);

    let client = telemetry.span("SQS.CreateQueue");
    assert_eq!(client.span_kind, SpanKind::Client);
    let keys: Vec<String> = attributes(&client).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "aws.request_id",
            "cloud.region",
            "http.response.status_code",
            "rpc.method",
            "rpc.service",
            "rpc.system"
        ]
    );
}

#[tokio::test]
async fn failed_call_records_error_type() {
    let Some(endpoint) = moto_endpoint("failed_call_records_error_type") else {
        return;
    };
    let telemetry = Telemetry::new();
    let sqs = traced_sqs(&endpoint, &telemetry).await;
    let missing = format!("{endpoint}/123456789012/{}", unique("missing"));
    let result = sqs
        .send_message()
        .queue_url(&missing)
        .message_body("x")
        .send()
        .await;
    assert!(result.is_err(), "sending to a missing queue must fail");
    let span = telemetry
        .spans()
        .into_iter()
        .find(|s| s.name.starts_with("send "))
        .unwrap();
    let error_type = attribute(&span, "error.type")
        .expect("error.type")
        .to_string();
    assert!(
        error_type.contains("NonExistentQueue") || error_type.contains("QueueDoesNotExist"),
        "{error_type}"
    );
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    let status = attribute(&span, "http.response.status_code")
        .unwrap()
        .to_string();
    assert!(status.starts_with('4'), "{status}");
}

fn parent_span_id(cx: &opentelemetry::Context) -> opentelemetry::trace::SpanId {
    use opentelemetry::trace::TraceContextExt as _;
    cx.span().span_context().span_id()
}
