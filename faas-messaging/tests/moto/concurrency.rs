//! Concurrent calls through one client never mix their spans: each message carries the span of
//! its own call, each span the parent of its own caller.

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt as _;

use crate::fixtures::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_keep_their_own_context() {
    let Some(scene) =
        QueueScene::start("concurrent_sends_keep_their_own_context", "concurrent").await
    else {
        return;
    };

    let mut tasks = Vec::new();
    for i in 0..8 {
        let parent = scene.telemetry.parent();
        let (sqs, url) = (scene.sqs.clone(), scene.url.clone());
        tasks.push(tokio::spawn(async move {
            sqs.send_message()
                .queue_url(&url)
                .message_body(format!("{i}"))
                .send()
                .with_context(parent.clone())
                .await
                .unwrap();
            (i.to_string(), parent.span().span_context().clone())
        }));
    }
    let mut parents = std::collections::HashMap::new();
    for task in tasks {
        let (body, parent) = task.await.unwrap();
        parents.insert(body, parent);
    }

    let producers: Vec<_> = scene
        .telemetry
        .spans()
        .into_iter()
        .filter(|s| s.name == format!("send {}", scene.name))
        .collect();
    assert_eq!(producers.len(), 8);
    let received = scene.receive_at_least(8).await;
    assert_eq!(received.len(), 8);
    for message in &received {
        let parent = &parents[message.body.as_deref().unwrap()];
        let (trace, span) = parse_traceparent(&sqs_attribute(message, "traceparent").unwrap());
        assert_eq!(trace, parent.trace_id());
        let producer = producers
            .iter()
            .find(|p| p.span_context.span_id() == span)
            .expect("the message's span is one of the producer spans");
        assert_eq!(producer.parent_span_id, parent.span_id());
        assert_eq!(producer.span_context.trace_id(), parent.trace_id());
    }
}
