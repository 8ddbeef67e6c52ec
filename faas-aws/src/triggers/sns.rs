//! SNS: notifications from one or more topics.

use faas_core::invocation::Trigger;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use opentelemetry_semantic_conventions::attribute as attr;
use serde_json::Value;

use super::batch::{arn_names, links_of, message, message_link, messaging_batch};
use super::description::{DescribeOptions, TriggerDescription};
use super::json_path::{common, str_at};

/// `messaging.system` for SNS, spelled as the conventions spell it (with a dot).
const SYSTEM: &str = "aws.sns";

pub(super) fn describe(records: &[Value], options: &DescribeOptions) -> TriggerDescription {
    let mut description = TriggerDescription::new(Trigger::PubSub, Some(SpanKind::Consumer));
    let topics = arn_names(records, &["Sns", "TopicArn"]);
    let (name, mut attributes) = messaging_batch(SYSTEM, &topics, false);
    if let Some(arn) = common(records, |r| str_at(r, &["Sns", "TopicArn"])) {
        attributes.push(KeyValue::new(attr::AWS_SNS_TOPIC_ARN, arn.to_owned()));
    }
    description.span_name = Some(name);
    description.attributes = attributes;
    description.messages = records
        .iter()
        .map(|record| {
            // SNS message attributes: `{"Type": "String", "Value": "..."}`.
            let string_attribute = |name: &str| {
                let attribute = record.get("Sns")?.get("MessageAttributes")?.get(name)?;
                (str_at(attribute, &["Type"]) == Some("String"))
                    .then(|| str_at(attribute, &["Value"]))
                    .flatten()
            };
            let link = message_link(
                options,
                string_attribute("traceparent"),
                string_attribute("tracestate"),
                None,
            );
            message(str_at(record, &["Sns", "MessageId"]), link)
        })
        .collect();
    description.links = links_of(&description.messages);
    description
}
