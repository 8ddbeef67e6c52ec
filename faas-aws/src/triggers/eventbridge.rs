//! EventBridge: one event from a bus, or a scheduled rule firing.

use faas_core::invocation::Trigger;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use opentelemetry_semantic_conventions::attribute as attr;
use serde_json::Value;

use super::batch::{links_of, message, message_link};
use super::description::{DescribeOptions, TriggerDescription};
use super::json_path::str_at;

/// The field of an event's `detail` object in which producers instrumented by this project
/// write the trace context: `{"_faas_otel": {"traceparent": "…", "tracestate": "…"}}`.
/// A consumer links to it.
pub const EVENTBRIDGE_DETAIL_FIELD: &str = "_faas_otel";

/// The ARN of the rule that fired a scheduled event (its `resources[0]`). The conventions have
/// no attribute for it, hence the project prefix ([`faas_core::attributes::PREFIX`]).
pub const EVENTBRIDGE_RULE_ARN: &str = "faas_otel.aws.eventbridge.rule.arn";

/// `messaging.system` for EventBridge. The conventions define no value for EventBridge; this
/// one is the project's choice.
const SYSTEM: &str = "aws.eventbridge";

pub(super) fn describe(event: &Value, options: &DescribeOptions) -> Option<TriggerDescription> {
    let detail_type = str_at(event, &["detail-type"])?;
    let source = str_at(event, &["source"])?;
    event.get("detail")?;

    if source == "aws.events" && detail_type == "Scheduled Event" {
        // A schedule: `faas.time` is the scheduled time. The rule's cron or rate expression is
        // not in the event, so `faas.cron` is not recorded.
        let mut description = TriggerDescription::new(Trigger::Timer, Some(SpanKind::Server));
        if let Some(time) = str_at(event, &["time"]) {
            description
                .attributes
                .push(KeyValue::new(attr::FAAS_TIME, time.to_owned()));
        }
        let rule = event
            .get("resources")
            .and_then(Value::as_array)
            .and_then(|resources| resources.first())
            .and_then(Value::as_str)
            .filter(|arn| arn.starts_with("arn:") && arn.contains(":rule/"));
        if let Some(rule) = rule {
            description
                .attributes
                .push(KeyValue::new(EVENTBRIDGE_RULE_ARN, rule.to_owned()));
        }
        return Some(description);
    }

    let mut description = TriggerDescription::new(Trigger::PubSub, Some(SpanKind::Consumer));
    let id = str_at(event, &["id"]);
    description.span_name = Some(if source.is_empty() {
        "process".to_owned()
    } else {
        format!("{source} process")
    });
    description.attributes = vec![
        KeyValue::new(attr::MESSAGING_SYSTEM, SYSTEM),
        KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "process"),
        KeyValue::new(attr::MESSAGING_OPERATION_NAME, "process"),
    ];
    if !source.is_empty() {
        description.attributes.push(KeyValue::new(
            attr::MESSAGING_DESTINATION_NAME,
            source.to_owned(),
        ));
    }
    if let Some(id) = id {
        description
            .attributes
            .push(KeyValue::new(attr::MESSAGING_MESSAGE_ID, id.to_owned()));
    }
    let carrier = |name: &str| str_at(event, &["detail", EVENTBRIDGE_DETAIL_FIELD, name]);
    let link = message_link(
        options,
        carrier("traceparent"),
        carrier("tracestate"),
        str_at(event, &["trace-header"]),
    );
    description.messages = vec![message(id, link)];
    description.links = links_of(&description.messages);
    Some(description)
}
