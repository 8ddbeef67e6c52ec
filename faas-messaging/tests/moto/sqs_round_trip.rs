//! SendMessage through the interceptor, ReceiveMessage with the real SDK: the message carries
//! the PRODUCER span's context, and the user's attributes are kept.

use opentelemetry::trace::SpanKind;

use crate::fixtures::*;

#[tokio::test]
async fn received_message_carries_the_producer_span() {
    let Some(scene) =
        QueueScene::start("received_message_carries_the_producer_span", "round-trip").await
    else {
        return;
    };

    let parent = scene.telemetry.parent();
    let user = [("user".to_owned(), "mine".to_owned())];
    let sent = scene.send("hello", &user, parent.clone()).await;

    let producer = scene.producer();
    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(producer.span_context.trace_id(), trace_id(&parent));

    let messages = receive_all(&scene.plain, &scene.url).await;
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
    let Some(scene) =
        QueueScene::start("user_traceparent_is_never_overwritten", "own-traceparent").await
    else {
        return;
    };
    let own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let attributes = [("traceparent".to_owned(), own.to_owned())];
    scene
        .send("hello", &attributes, scene.telemetry.parent())
        .await;
    let messages = receive_all(&scene.plain, &scene.url).await;
    assert_eq!(
        sqs_attribute(&messages[0], "traceparent").as_deref(),
        Some(own)
    );
    let producer = scene.producer();
    assert_eq!(
        attribute_text(&producer, "faas_otel.propagation.skipped"),
        Some("already_present".to_owned())
    );
}
