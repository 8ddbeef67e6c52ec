//! SendMessageBatch of 10: every message carries the batch PRODUCER span's context.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use opentelemetry::Value;
use opentelemetry::context::FutureExt as _;

use crate::fixtures::*;

#[tokio::test]
async fn batch_of_ten_carries_the_context() {
    let Some(endpoint) = moto_endpoint("batch_of_ten_carries_the_context") else {
        return;
    };
    let telemetry = Telemetry::new();
    let plain = plain_sqs(&endpoint).await;
    let sqs = traced_sqs(&endpoint, &telemetry).await;
    let name = unique("batch");
    let (url, _) = create_queue(&plain, &name).await;
    let entries: Vec<_> = (0..10)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(format!("body {i}"))
                .build()
                .unwrap()
        })
        .collect();
    let output = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .with_context(telemetry.parent())
        .await
        .unwrap();
    assert_eq!(output.successful.len(), 10);

    let producer = telemetry.span(&format!("send {name}"));
    assert_eq!(
        attribute(&producer, "messaging.batch.message_count"),
        Some(Value::I64(10))
    );
    assert_eq!(attribute(&producer, "messaging.message.id"), None);
    let expected = traceparent_of(&producer);

    let mut received = Vec::new();
    for _ in 0..10 {
        received.extend(receive_all(&plain, &url).await);
        if received.len() >= 10 {
            break;
        }
    }
    assert_eq!(received.len(), 10);
    for message in &received {
        assert_eq!(
            sqs_attribute(message, "traceparent").as_deref(),
            Some(expected.as_str())
        );
    }
}
