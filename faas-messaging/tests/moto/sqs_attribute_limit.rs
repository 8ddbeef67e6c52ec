//! A message that already has 10 attributes is sent unchanged and the span says why.

use crate::fixtures::*;

#[tokio::test]
async fn full_message_is_sent_unchanged() {
    let Some(scene) = QueueScene::start("full_message_is_sent_unchanged", "limit").await else {
        return;
    };
    let full: Vec<(String, String)> = (0..10)
        .map(|i| (format!("a{i}"), format!("v{i}")))
        .collect();
    scene.send("full", &full, scene.telemetry.parent()).await;

    let producer = scene.producer();
    assert_eq!(
        attribute_text(&producer, "faas_otel.propagation.skipped"),
        Some("attribute_limit".to_owned())
    );
    let messages = receive_all(&scene.plain, &scene.url).await;
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
