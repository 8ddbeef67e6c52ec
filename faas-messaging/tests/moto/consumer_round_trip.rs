//! Producer to consumer: the received SQS message, as Lambda would deliver it, makes
//! `faas_aws::triggers::describe` link to the PRODUCER span.

use serde_json::json;

use crate::fixtures::*;

#[tokio::test]
async fn consumer_links_to_the_producer_span() {
    let Some(scene) = QueueScene::start("consumer_links_to_the_producer_span", "consumer").await
    else {
        return;
    };
    let producer = scene.send_traced("work").await;

    let messages = receive_all(&scene.plain, &scene.url).await;
    let message = &messages[0];
    let attributes: serde_json::Map<String, serde_json::Value> = message
        .message_attributes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                json!({"stringValue": v.string_value, "dataType": v.data_type}),
            )
        })
        .collect();
    let event = json!({"Records": [{
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {},
        "messageAttributes": attributes,
        "md5OfBody": message.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": scene.arn,
        "awsRegion": "us-east-1"
    }]});
    assert!(assert_links_to(&event, &producer).is_remote());
}
