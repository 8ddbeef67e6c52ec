//! SendMessage through the interceptor, ReceiveMessage with the real SDK: the message carries
//! the PRODUCER span's context, and the user's attributes are kept.

use aws_sdk_sqs::types::MessageAttributeValue;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanKind;

use crate::fixtures::*;

#[tokio::test]
async fn received_message_carries_the_producer_span() {
    let Some(endpoint) = moto_endpoint("received_message_carries_the_producer_span") else {
        return;
    };
    let telemetry = Telemetry::new();
    let plain = plain_sqs(&endpoint).await;
    let sqs = traced_sqs(&endpoint, &telemetry).await;
    let name = unique("round-trip");
    let (url, _) = create_queue(&plain, &name).await;

    let parent = telemetry.parent();
    let user = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("mine")
        .build()
        .unwrap();
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("hello")
        .message_attributes("user", user)
        .send()
        .with_context(parent.clone())
        .await
        .unwrap();

    let producer = telemetry.span(&format!("send {name}"));
    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(producer.span_context.trace_id(), trace_id(&parent));

    let messages = receive_all(&plain, &url).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.message_id, sent.message_id);
    let traceparent = sqs_attribute(message, "traceparent").unwrap();
    let (trace, span) = parse_traceparent(&traceparent);
    assert_eq!(trace, producer.span_context.trace_id());
    assert_eq!(span, producer.span_context.span_id());
    assert_eq!(traceparent, traceparent_of(&producer));
    assert_eq!(sqs_attribute(message, "user").as_deref(), Some("mine"));
    assert_eq!(message.message_attributes.as_ref().unwrap().len(), 2);
    assert_eq!(message.body.as_deref(), Some("hello"));
}

#[tokio::test]
async fn user_traceparent_is_never_overwritten() {
    let Some(endpoint) = moto_endpoint("user_traceparent_is_never_overwritten") else {
        return;
    };
    let telemetry = Telemetry::new();
    let plain = plain_sqs(&endpoint).await;
    let sqs = traced_sqs(&endpoint, &telemetry).await;
    let name = unique("own-traceparent");
    let (url, _) = create_queue(&plain, &name).await;
    let own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let value = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(own)
        .build()
        .unwrap();
    sqs.send_message()
        .queue_url(&url)
        .message_body("hello")
        .message_attributes("traceparent", value)
        .send()
        .with_context(telemetry.parent())
        .await
        .unwrap();
    let messages = receive_all(&plain, &url).await;
    assert_eq!(
        sqs_attribute(&messages[0], "traceparent").as_deref(),
        Some(own)
    );
    let producer = telemetry.span(&format!("send {name}"));
    assert_eq!(
        attribute(&producer, "faas_otel.propagation.skipped").map(|v| v.to_string()),
        Some("already_present".to_owned())
    );
}
