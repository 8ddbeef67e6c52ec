//! SendMessageBatch of 10: every message carries the batch PRODUCER span's context.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use opentelemetry::Value;
use opentelemetry::context::FutureExt as _;

use crate::fixtures::*;

#[tokio::test]
async fn batch_of_ten_carries_the_context() {
    let Some(scene) = QueueScene::start("batch_of_ten_carries_the_context", "batch").await else {
        return;
    };
    let entries: Vec<_> = (0..10)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(format!("body {i}"))
                .build()
                .unwrap()
        })
        .collect();
    let output = scene
        .sqs
        .send_message_batch()
        .queue_url(&scene.url)
        .set_entries(Some(entries))
        .send()
        .with_context(scene.telemetry.parent())
        .await
        .unwrap();
    assert_eq!(output.successful.len(), 10);

    let producer = scene.producer();
    assert_eq!(
        attribute(&producer, "messaging.batch.message_count"),
        Some(Value::I64(10))
    );
    assert_eq!(attribute(&producer, "messaging.message.id"), None);
    let expected = traceparent_of(&producer);

    let received = scene.receive_at_least(10).await;
    assert_eq!(received.len(), 10);
    for message in &received {
        assert_eq!(
            sqs_attribute(message, "traceparent").as_deref(),
            Some(expected.as_str())
        );
    }
}
