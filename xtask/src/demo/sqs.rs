//! The demo's SQS side: queue set-up on moto and Lambda's event source mapping, by hand.
//!
//! Talks to moto's SQS endpoint with the AWS JSON 1.0 protocol (`X-Amz-Target:
//! AmazonSQS.<Action>`); moto routes by the credential scope of the `Authorization` header
//! and does not check the signature. [`lambda_event`] turns received messages into the
//! `{"Records": [...]}` event that Lambda's SQS event source mapping delivers, with the
//! message attributes (where `traceparent` travels) in Lambda's lower-camel-case shape.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::local_http;

/// The account moto uses.
pub const ACCOUNT: &str = "123456789012";

/// An SQS endpoint on `127.0.0.1:port` in `region`.
#[derive(Debug, Clone)]
pub struct Sqs {
    port: u16,
    region: String,
}

impl Sqs {
    /// The moto server on `port`, region `region`.
    pub fn new(port: u16, region: &str) -> Self {
        Self {
            port,
            region: region.to_owned(),
        }
    }

    fn call(&self, action: &str, body: &Value) -> Result<Value> {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/{}/sqs/aws4_request, SignedHeaders=host, Signature=00",
            self.region
        );
        let target = format!("AmazonSQS.{action}");
        let (status, text) = local_http::request(
            self.port,
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", &target),
                ("Authorization", &authorization),
            ],
            &body.to_string(),
        )
        .with_context(|| format!("SQS {action} on 127.0.0.1:{}", self.port))?;
        if status != 200 {
            bail!("SQS {action} answered {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("SQS {action} answered {text:?}"))
    }

    /// Creates (or finds) the queue `name` and returns its URL.
    pub fn create_queue(&self, name: &str) -> Result<String> {
        let answer = self.call("CreateQueue", &json!({ "QueueName": name }))?;
        answer["QueueUrl"]
            .as_str()
            .map(str::to_owned)
            .context("CreateQueue answered without QueueUrl")
    }

    /// Receives up to 10 messages with all their attributes (no long polling).
    pub fn receive(&self, queue_url: &str) -> Result<Vec<Value>> {
        let answer = self.call(
            "ReceiveMessage",
            &json!({
                "QueueUrl": queue_url,
                "MaxNumberOfMessages": 10,
                "MessageAttributeNames": ["All"],
                "MessageSystemAttributeNames": ["All"],
            }),
        )?;
        Ok(answer["Messages"].as_array().cloned().unwrap_or_default())
    }

    /// Deletes a processed message.
    pub fn delete(&self, queue_url: &str, receipt_handle: &str) -> Result<()> {
        self.call(
            "DeleteMessage",
            &json!({ "QueueUrl": queue_url, "ReceiptHandle": receipt_handle }),
        )?;
        Ok(())
    }

    /// The queue's ARN, as the event source mapping names it.
    pub fn queue_arn(&self, queue_name: &str) -> String {
        format!("arn:aws:sqs:{}:{ACCOUNT}:{queue_name}", self.region)
    }
}

/// The Lambda SQS event for `messages` (as returned by [`Sqs::receive`]).
pub fn lambda_event(messages: &[Value], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m["MessageAttributes"]
                .as_object()
                .map(|all| {
                    all.iter()
                        .map(|(name, a)| {
                            (
                                name.clone(),
                                json!({
                                    "stringValue": a["StringValue"],
                                    "dataType": a["DataType"],
                                    "stringListValues": [],
                                    "binaryListValues": [],
                                }),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": attributes,
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_event_has_lambdas_record_shape_with_the_trace_attribute() {
        let message = json!({
            "MessageId": "m-1", "ReceiptHandle": "r-1", "Body": "{\"order\":42}",
            "MD5OfBody": "x", "Attributes": {"SentTimestamp": "1"},
            "MessageAttributes": {"traceparent": {"StringValue": "00-abc-def-01", "DataType": "String"}}
        });
        let event = lambda_event(
            &[message],
            "arn:aws:sqs:us-east-1:123456789012:orders",
            "us-east-1",
        );
        let record = &event["Records"][0];
        assert_eq!(record["messageId"], "m-1");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(
            record["messageAttributes"]["traceparent"]["stringValue"],
            "00-abc-def-01"
        );
        assert_eq!(
            record["messageAttributes"]["traceparent"]["dataType"],
            "String"
        );
        assert_eq!(
            record["eventSourceARN"],
            "arn:aws:sqs:us-east-1:123456789012:orders"
        );
    }
}
