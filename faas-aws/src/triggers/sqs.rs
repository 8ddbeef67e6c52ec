//! SQS: a batch of messages from one or more queues.

use faas_core::invocation::Trigger;
use faas_core::propagation::XrayHeader;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use opentelemetry_semantic_conventions::attribute as attr;
use serde_json::Value;

use super::batch::{arn_names, links_of, message, message_link, messaging_batch};
use super::description::{DescribeOptions, TriggerDescription};
use super::json_path::{common, str_at};

/// `messaging.system` for SQS.
const SYSTEM: &str = "aws_sqs";

pub(super) fn describe(records: &[Value], options: &DescribeOptions) -> TriggerDescription {
    let mut description = TriggerDescription::new(Trigger::PubSub, Some(SpanKind::Consumer));
    let queues = arn_names(records, &["eventSourceARN"]);
    let (name, mut attributes) = messaging_batch(SYSTEM, &queues, true);
    if let Some(region) = common(records, |r| str_at(r, &["awsRegion"])) {
        attributes.push(KeyValue::new(attr::CLOUD_REGION, region.to_owned()));
    }
    description.span_name = Some(name);
    description.attributes = attributes;
    description.messages = records
        .iter()
        .map(|record| {
            let xray = str_at(record, &["attributes", "AWSTraceHeader"]);
            let link = message_link(
                options,
                str_at(record, &["messageAttributes", "traceparent", "stringValue"]),
                str_at(record, &["messageAttributes", "tracestate", "stringValue"]),
                xray,
            )
            .or_else(|| sns_envelope_link(record, options));
            let mut message = message(str_at(record, &["messageId"]), link);
            // A Root-only `AWSTraceHeader` has no segment to link to: keep its trace id.
            if message.link.is_none() && !options.propagation.is_disabled() {
                message
                    .attributes
                    .extend(xray.and_then(XrayHeader::parse).map(|x| x.attribute()));
            }
            message
        })
        .collect();
    description.links = links_of(&description.messages);
    description
}

/// SNS delivered to SQS without raw message delivery: the SQS body is the SNS envelope
/// (`"Type": "Notification"`), whose `MessageAttributes` carry the publisher's context. (With
/// raw delivery the SNS attributes become SQS message attributes, read above.)
fn sns_envelope_link(
    record: &Value,
    options: &DescribeOptions,
) -> Option<opentelemetry::trace::Link> {
    let body = str_at(record, &["body"])?;
    if !body.trim_start().starts_with('{') {
        return None;
    }
    let envelope: Value = serde_json::from_str(body).ok()?;
    if str_at(&envelope, &["Type"]) != Some("Notification") {
        return None;
    }
    message_link(
        options,
        str_at(&envelope, &["MessageAttributes", "traceparent", "Value"]),
        str_at(&envelope, &["MessageAttributes", "tracestate", "Value"]),
        None,
    )
}
