//! Kinesis Data Streams: a batch of records from one or more streams.

use faas_core::invocation::Trigger;
use opentelemetry::trace::SpanKind;
use serde_json::Value;

use super::batch::{message, messaging_batch};
use super::description::TriggerDescription;
use super::json_path::str_at;

/// `messaging.system` for Kinesis. The conventions define no value for Kinesis; this follows
/// the `aws_sqs` spelling.
const SYSTEM: &str = "aws_kinesis";

/// The stream name of a Kinesis ARN: `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
fn stream_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let name = resource.strip_prefix("stream/")?;
    let name = name.split('/').next()?;
    (!name.is_empty()).then_some(name)
}

/// Records carry opaque data, so there is no creation context to link to: messages have ids
/// (the sequence numbers) and no links.
pub(super) fn describe(records: &[Value]) -> TriggerDescription {
    let mut description = TriggerDescription::new(Trigger::PubSub, Some(SpanKind::Consumer));
    let streams: Vec<Option<&str>> = records
        .iter()
        .map(|record| str_at(record, &["eventSourceARN"]).and_then(stream_name))
        .collect();
    let (name, attributes) = messaging_batch(SYSTEM, &streams, true);
    description.span_name = Some(name);
    description.attributes = attributes;
    description.messages = records
        .iter()
        .map(|record| message(str_at(record, &["kinesis", "sequenceNumber"]), None))
        .collect();
    description
}

#[cfg(test)]
mod tests {
    use super::stream_name;

    #[test]
    fn stream_names() {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream";
        assert_eq!(stream_name(arn), Some("lambda-stream"));
        let consumer = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1";
        assert_eq!(stream_name(consumer), Some("s"));
        assert_eq!(stream_name("arn:aws:kinesis:us-east-1:1:table/x"), None);
        assert_eq!(stream_name("stream/x"), None);
        assert_eq!(stream_name("arn:aws:kinesis:r:1:stream/"), None);
    }
}
