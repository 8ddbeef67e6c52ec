//! SNS topic -> SQS subscriptions (raw and enveloped delivery) carry the PUBLISH span's context.

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanKind;

use crate::fixtures::*;

#[tokio::test]
async fn topic_to_queues_carries_the_context() {
    let Some(endpoint) = moto_endpoint("topic_to_queues_carries_the_context") else {
        return;
    };
    let telemetry = Telemetry::new();
    let shared = sdk_config(&endpoint).await;
    let plain_sns = aws_sdk_sns::Client::new(&shared);
    let sns = traced!(aws_sdk_sns, &shared, telemetry);
    let plain = plain_sqs(&endpoint).await;
    let topic = unique("topic");
    let topic_arn = plain_sns
        .create_topic()
        .name(&topic)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let (raw_url, raw_arn) = create_queue(&plain, &unique("raw")).await;
    let (env_url, env_arn) = create_queue(&plain, &unique("enveloped")).await;
    plain_sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&raw_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    plain_sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&env_arn)
        .send()
        .await
        .unwrap();

    let published = sns
        .publish()
        .topic_arn(&topic_arn)
        .message("fan out")
        .send()
        .with_context(telemetry.parent())
        .await
        .unwrap();
    let producer = telemetry.span(&format!("publish {topic}"));
    assert_span(
        &producer,
        SpanKind::Producer,
        &[
            ("messaging.system", Some("aws.sns")),
            ("messaging.destination.name", Some(topic.as_str())),
            ("messaging.message.id", published.message_id.as_deref()),
        ],
    );
    let expected = traceparent_of(&producer);

    let raw = receive_all(&plain, &raw_url).await;
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].body.as_deref(), Some("fan out"));
    assert_eq!(
        sqs_attribute(&raw[0], "traceparent").as_deref(),
        Some(expected.as_str())
    );

    let enveloped = receive_all(&plain, &env_url).await;
    assert_eq!(enveloped.len(), 1);
    let envelope: serde_json::Value =
        serde_json::from_str(enveloped[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(envelope["Message"], "fan out");
    assert_eq!(
        envelope["MessageAttributes"]["traceparent"]["Value"],
        expected.as_str()
    );
    assert_eq!(
        envelope["MessageAttributes"]["traceparent"]["Type"],
        "String"
    );

    // The consumer of the enveloped queue (no SQS message attributes) links to the publisher
    // through the SNS envelope in the body.
    let event = serde_json::json!({ "Records": [{
        "messageId": enveloped[0].message_id.as_deref().unwrap(),
        "receiptHandle": "AQEB",
        "body": enveloped[0].body.as_deref().unwrap(),
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": env_arn,
        "awsRegion": "us-east-1"
    }]});
    assert_links_to(&event, &producer);
}
