//! EventBridge rule -> SQS target: the event's `detail._faas_otel.traceparent` is the PutEvents
//! span's context, and faas-aws links the consumer to it.

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanKind;
use serde_json::Value;

use crate::fixtures::*;

#[tokio::test]
async fn rule_to_queue_carries_the_detail_context() {
    let Some(endpoint) = moto_endpoint("rule_to_queue_carries_the_detail_context") else {
        return;
    };
    assert_eq!(
        faas_messaging::EVENTBRIDGE_DETAIL_FIELD,
        faas_aws::triggers::EVENTBRIDGE_DETAIL_FIELD
    );
    let telemetry = Telemetry::new();
    let shared = sdk_config(&endpoint).await;
    let plain_events = aws_sdk_eventbridge::Client::new(&shared);
    let events = traced!(aws_sdk_eventbridge, &shared, telemetry);
    let plain = plain_sqs(&endpoint).await;
    let (url, queue_arn) = create_queue(&plain, &unique("events")).await;
    let source = unique("faas.test");
    let rule = unique("rule");
    plain_events
        .put_rule()
        .name(&rule)
        .event_pattern(serde_json::json!({"source": [source]}).to_string())
        .send()
        .await
        .unwrap();
    plain_events
        .put_targets()
        .rule(&rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let output = events
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source(&source)
                .detail_type("OrderPlaced")
                .detail(r#"{"order": 42, "items": ["a"]}"#)
                .build(),
        )
        .send()
        .with_context(telemetry.parent())
        .await
        .unwrap();
    assert_eq!(output.failed_entry_count, 0);
    let producer = telemetry.span("publish default");
    let entries = output.entries.unwrap();
    assert_span(
        &producer,
        SpanKind::Producer,
        &[
            ("messaging.system", Some("aws.eventbridge")),
            ("messaging.message.id", entries[0].event_id.as_deref()),
        ],
    );
    let expected = traceparent_of(&producer);

    let messages = receive_all(&plain, &url).await;
    assert_eq!(messages.len(), 1);
    let event: Value = serde_json::from_str(messages[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        event["detail"]["_faas_otel"]["traceparent"],
        expected.as_str()
    );
    assert_eq!(event["detail"]["order"], 42);
    assert_eq!(event["detail"]["items"][0], "a");

    // The consumer side (a Lambda target would receive this event as is).
    assert_links_to(&event, &producer);
}
