//! SQS: a batch of messages from one or more queues.

use faas_core::invocation::Trigger;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use opentelemetry_semantic_conventions::attribute as attr;
use serde_json::Value;

use super::{
    DescribeOptions, TriggerDescription, common, links_of, message, message_link, messaging_batch,
    str_at,
};

/// `messaging.system` for SQS.
const SYSTEM: &str = "aws_sqs";

pub(super) fn describe(records: &[Value], options: &DescribeOptions) -> TriggerDescription {
    let mut description = TriggerDescription::new(Trigger::PubSub, Some(SpanKind::Consumer));
    let queues: Vec<Option<&str>> = records
        .iter()
        .map(|record| {
            str_at(record, &["eventSourceARN"])
                .and_then(|arn| arn.rsplit(':').next())
                .filter(|queue| !queue.is_empty())
        })
        .collect();
    let (name, mut attributes) = messaging_batch(SYSTEM, &queues, true);
    if let Some(region) = common(records, |r| str_at(r, &["awsRegion"])) {
        attributes.push(KeyValue::new(attr::CLOUD_REGION, region.to_owned()));
    }
    description.span_name = Some(name);
    description.attributes = attributes;
    description.messages = records
        .iter()
        .map(|record| {
            let link = message_link(
                options,
                str_at(record, &["messageAttributes", "traceparent", "stringValue"]),
                str_at(record, &["messageAttributes", "tracestate", "stringValue"]),
                str_at(record, &["attributes", "AWSTraceHeader"]),
            );
            message(str_at(record, &["messageId"]), link)
        })
        .collect();
    description.links = links_of(&description.messages);
    description
}
