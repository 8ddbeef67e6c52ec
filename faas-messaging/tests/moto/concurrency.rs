//! Concurrent calls through one client never mix their spans: each message carries the span of
//! its own call, each span the parent of its own caller.

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt as _;

use crate::fixtures::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_keep_their_own_context() {
    let Some(endpoint) = moto_endpoint("concurrent_sends_keep_their_own_context") else {
        return;
    };
    let telemetry = Telemetry::new();
    let plain = plain_sqs(&endpoint).await;
    let sqs = traced_sqs(&endpoint, &telemetry).await;
    let name = unique("concurrent");
    let (url, _) = create_queue(&plain, &name).await;

    let mut tasks = Vec::new();
    for i in 0..8 {
        let parent = telemetry.parent();
        let (sqs, url) = (sqs.clone(), url.clone());
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

    let producers: Vec<_> = telemetry
        .spans()
        .into_iter()
        .filter(|s| s.name == format!("send {name}"))
        .collect();
    assert_eq!(producers.len(), 8);
    let mut received = Vec::new();
    for _ in 0..10 {
        received.extend(receive_all(&plain, &url).await);
        if received.len() >= 8 {
            break;
        }
    }
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
