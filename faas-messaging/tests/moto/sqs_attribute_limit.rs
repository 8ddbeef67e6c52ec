//! A message that already has 10 attributes is sent unchanged and the span says why.

use aws_sdk_sqs::types::MessageAttributeValue;
use opentelemetry::context::FutureExt as _;

use crate::fixtures::*;

#[tokio::test]
async fn full_message_is_sent_unchanged() {
    let Some(endpoint) = moto_endpoint("full_message_is_sent_unchanged") else {
        return;
    };
    let telemetry = Telemetry::new();
    let plain = plain_sqs(&endpoint).await;
    let sqs = traced_sqs(&endpoint, &telemetry).await;
    let name = unique("limit");
    let (url, _) = create_queue(&plain, &name).await;
    let mut request = sqs.send_message().queue_url(&url).message_body("full");
    for i in 0..10 {
        request = request.message_attributes(
            format!("a{i}"),
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(format!("v{i}"))
                .build()
                .unwrap(),
        );
    }
    request
        .send()
        .with_context(telemetry.parent())
        .await
        .unwrap();

    let producer = telemetry.span(&format!("send {name}"));
    assert_eq!(
        attribute(&producer, "faas_otel.propagation.skipped").map(|v| v.to_string()),
        Some("attribute_limit".to_owned())
    );
    let messages = receive_all(&plain, &url).await;
    let attributes = messages[0].message_attributes.as_ref().unwrap();
    assert_eq!(attributes.len(), 10);
    assert!(!attributes.contains_key("traceparent"));
    for i in 0..10 {
        assert_eq!(
            sqs_attribute(&messages[0], &format!("a{i}")),
            Some(format!("v{i}"))
        );
    }
}
