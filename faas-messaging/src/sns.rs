//! Amazon SNS: `traceparent`/`tracestate` message attributes.

use std::collections::HashMap;

use aws_sdk_sns::operation::publish::{PublishError, PublishInput, PublishOutput};
use aws_sdk_sns::operation::publish_batch::{PublishBatchError, PublishBatchInput};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_runtime_api::client::interceptors::context::{Error, Input, Output};
use opentelemetry::Context;
use opentelemetry_semantic_conventions::attribute as semconv;

use crate::SkipReason;
use crate::carrier::{inject_each, inject_into_map, inject_optional};
use crate::plan::Plan;
use crate::sdk_error::code_of;

/// The most message attributes an SNS message may carry to be delivered to SQS subscribers
/// (SQS accepts 10; SNS itself allows more, the delivery would fail).
pub const SNS_MAX_MESSAGE_ATTRIBUTES: usize = 10;

/// `messaging.system` of SNS (sic: with a dot).
pub(crate) const SYSTEM: &str = "aws.sns";

/// Writes the W3C context of `cx` into SNS message attributes: `traceparent` (and `tracestate`
/// when non-empty) as `String` attributes. Same rules as
/// [`inject_sqs_attributes`](crate::inject_sqs_attributes), with
/// [`SNS_MAX_MESSAGE_ATTRIBUTES`].
pub fn inject_sns_attributes(
    cx: &Context,
    attributes: &mut HashMap<String, MessageAttributeValue>,
) -> Result<(), SkipReason> {
    inject_into_map(cx, attributes, SNS_MAX_MESSAGE_ATTRIBUTES, |value| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .ok()
    })
}

/// The topic name: the last `:` field of the topic ARN.
pub(crate) fn topic_name(arn: &str) -> Option<&str> {
    arn.starts_with("arn:")
        .then(|| arn.rsplit(':').next())
        .flatten()
        .filter(|name| !name.is_empty())
}

/// The span of an SNS call.
pub(crate) fn plan(operation: &str, input: &Input) -> Option<Plan> {
    let (arn, batch) = match operation {
        "Publish" => {
            let input = input.downcast_ref::<PublishInput>()?;
            (
                input.topic_arn.as_deref().or(input.target_arn.as_deref()),
                None,
            )
        }
        "PublishBatch" => {
            let input = input.downcast_ref::<PublishBatchInput>()?;
            (
                input.topic_arn.as_deref(),
                Some(
                    input
                        .publish_batch_request_entries
                        .as_ref()
                        .map_or(0, Vec::len),
                ),
            )
        }
        _ => return None,
    };
    Some(
        Plan::producer(SYSTEM, "publish", arn.and_then(topic_name), batch)
            .with_known(semconv::AWS_SNS_TOPIC_ARN, arn),
    )
}

/// Injects the context into the messages of the call; the first reason a message was skipped.
pub(crate) fn inject(operation: &str, input: &mut Input, cx: &Context) -> Option<SkipReason> {
    match operation {
        "Publish" => {
            let input = input.downcast_mut::<PublishInput>()?;
            inject_optional(cx, &mut input.message_attributes, inject_sns_attributes).err()
        }
        "PublishBatch" => {
            let input = input.downcast_mut::<PublishBatchInput>()?;
            let entries = input.publish_batch_request_entries.iter_mut().flatten();
            inject_each(entries, |entry| {
                inject_optional(cx, &mut entry.message_attributes, inject_sns_attributes)
            })
        }
        _ => None,
    }
}

/// `messaging.message.id` of a single-message call.
pub(crate) fn message_id(operation: &str, output: &Output) -> Option<String> {
    match operation {
        "Publish" => output.downcast_ref::<PublishOutput>()?.message_id.clone(),
        _ => None,
    }
}

/// The error code of a failed call, when the SDK parsed one.
pub(crate) fn error_code(error: &Error) -> Option<String> {
    code_of::<PublishError>(error).or_else(|| code_of::<PublishBatchError>(error))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::test_support::{cx, cx_with_state};

    fn value(text: &str) -> MessageAttributeValue {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(text)
            .build()
            .unwrap()
    }

    #[test]
    fn inject_table() {
        let users = |n: usize| -> HashMap<String, MessageAttributeValue> {
            (0..n).map(|i| (format!("u{i}"), value("v"))).collect()
        };
        let mut own = users(2);
        own.insert("tracestate".into(), value("k=v"));
        let cases = [
            ("empty", cx(), users(0), Ok(()), 1),
            ("nine", cx(), users(9), Ok(()), 1),
            ("ten", cx(), users(10), Err(SkipReason::AttributeLimit), 0),
            (
                "state nine",
                cx_with_state(),
                users(9),
                Err(SkipReason::AttributeLimit),
                0,
            ),
            ("state eight", cx_with_state(), users(8), Ok(()), 2),
            (
                "user tracestate kept",
                cx_with_state(),
                own,
                Err(SkipReason::AlreadyPresent),
                0,
            ),
            (
                "no context",
                Context::new(),
                users(0),
                Err(SkipReason::NoValidContext),
                0,
            ),
        ];
        for (name, cx, before, result, added) in cases {
            let mut map = before.clone();
            assert_eq!(inject_sns_attributes(&cx, &mut map), result, "{name}");
            assert_eq!(map.len(), before.len() + added, "{name}");
            for (key, value) in &before {
                assert_eq!(map.get(key), Some(value), "{name}: {key} changed");
            }
        }
    }

    #[test]
    fn topic_names() {
        let cases = [
            ("arn:aws:sns:us-east-1:123456789012:orders", Some("orders")),
            (
                "arn:aws:sns:us-east-1:123456789012:orders.fifo",
                Some("orders.fifo"),
            ),
            ("not-an-arn", None),
        ];
        for (arn, name) in cases {
            assert_eq!(topic_name(arn), name, "{arn}");
        }
    }
}
