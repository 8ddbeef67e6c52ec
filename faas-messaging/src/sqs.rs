//! Amazon SQS: `traceparent`/`tracestate` message attributes.

use std::collections::HashMap;

use aws_sdk_sqs::operation::send_message::{SendMessageError, SendMessageInput, SendMessageOutput};
use aws_sdk_sqs::operation::send_message_batch::{SendMessageBatchError, SendMessageBatchInput};
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_smithy_runtime_api::client::interceptors::context::{Error, Input, Output};
use opentelemetry::Context;
use opentelemetry_semantic_conventions::attribute as semconv;

use crate::SkipReason;
use crate::carrier::{inject_each, inject_into_map, inject_optional};
use crate::plan::Plan;
use crate::sdk_error::code_of;

/// The most message attributes SQS accepts on one message.
pub const SQS_MAX_MESSAGE_ATTRIBUTES: usize = 10;

/// `messaging.system` of SQS.
pub(crate) const SYSTEM: &str = "aws_sqs";

/// Writes the W3C context of `cx` into SQS message attributes: `traceparent` (and `tracestate`
/// when non-empty) as `String` attributes.
///
/// All or nothing, never overwriting: the map is left unchanged and a reason returned when the
/// context is not valid, when the user already set `traceparent`/`tracestate`, or when the
/// message would exceed [`SQS_MAX_MESSAGE_ATTRIBUTES`].
pub fn inject_sqs_attributes(
    cx: &Context,
    attributes: &mut HashMap<String, MessageAttributeValue>,
) -> Result<(), SkipReason> {
    inject_into_map(cx, attributes, SQS_MAX_MESSAGE_ATTRIBUTES, |value| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .ok()
    })
}

/// The queue name: the last path segment of the queue URL.
pub(crate) fn queue_name(url: &str) -> Option<&str> {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty() && !name.contains(':'))
}

/// The span of an SQS call.
pub(crate) fn plan(operation: &str, input: &Input) -> Option<Plan> {
    let (url, batch) = match operation {
        "SendMessage" => (
            input
                .downcast_ref::<SendMessageInput>()?
                .queue_url
                .as_deref(),
            None,
        ),
        "SendMessageBatch" => {
            let input = input.downcast_ref::<SendMessageBatchInput>()?;
            (
                input.queue_url.as_deref(),
                Some(input.entries.as_ref().map_or(0, Vec::len)),
            )
        }
        _ => return None,
    };
    Some(
        Plan::producer(SYSTEM, "send", url.and_then(queue_name), batch)
            .with_known(semconv::AWS_SQS_QUEUE_URL, url),
    )
}

/// Injects the context into the messages of the call; the first reason a message was skipped.
pub(crate) fn inject(operation: &str, input: &mut Input, cx: &Context) -> Option<SkipReason> {
    match operation {
        "SendMessage" => {
            let input = input.downcast_mut::<SendMessageInput>()?;
            inject_optional(cx, &mut input.message_attributes, inject_sqs_attributes).err()
        }
        "SendMessageBatch" => {
            let input = input.downcast_mut::<SendMessageBatchInput>()?;
            inject_each(input.entries.iter_mut().flatten(), |entry| {
                inject_optional(cx, &mut entry.message_attributes, inject_sqs_attributes)
            })
        }
        _ => None,
    }
}

/// `messaging.message.id` of a single-message call.
pub(crate) fn message_id(operation: &str, output: &Output) -> Option<String> {
    match operation {
        "SendMessage" => output
            .downcast_ref::<SendMessageOutput>()?
            .message_id
            .clone(),
        _ => None,
    }
}

/// The error code of a failed call, when the SDK parsed one.
pub(crate) fn error_code(error: &Error) -> Option<String> {
    code_of::<SendMessageError>(error).or_else(|| code_of::<SendMessageBatchError>(error))
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

    fn user_attributes(count: usize) -> HashMap<String, MessageAttributeValue> {
        (0..count)
            .map(|i| (format!("user{i}"), value("v")))
            .collect()
    }

    #[test]
    fn inject_table() {
        struct Case {
            name: &'static str,
            cx: Context,
            before: HashMap<String, MessageAttributeValue>,
            result: Result<(), SkipReason>,
            added: &'static [&'static str],
        }
        let mut own = user_attributes(1);
        own.insert("traceparent".into(), value("mine"));
        let cases = vec![
            Case {
                name: "empty",
                cx: cx(),
                before: user_attributes(0),
                result: Ok(()),
                added: &["traceparent"],
            },
            Case {
                name: "room for one",
                cx: cx(),
                before: user_attributes(9),
                result: Ok(()),
                added: &["traceparent"],
            },
            Case {
                name: "full",
                cx: cx(),
                before: user_attributes(10),
                result: Err(SkipReason::AttributeLimit),
                added: &[],
            },
            Case {
                name: "tracestate needs two",
                cx: cx_with_state(),
                before: user_attributes(9),
                result: Err(SkipReason::AttributeLimit),
                added: &[],
            },
            Case {
                name: "tracestate fits",
                cx: cx_with_state(),
                before: user_attributes(8),
                result: Ok(()),
                added: &["traceparent", "tracestate"],
            },
            Case {
                name: "user traceparent kept",
                cx: cx(),
                before: own,
                result: Err(SkipReason::AlreadyPresent),
                added: &[],
            },
            Case {
                name: "no context",
                cx: Context::new(),
                before: user_attributes(1),
                result: Err(SkipReason::NoValidContext),
                added: &[],
            },
        ];
        for case in cases {
            let mut map = case.before.clone();
            assert_eq!(
                inject_sqs_attributes(&case.cx, &mut map),
                case.result,
                "{}",
                case.name
            );
            for (key, value) in &case.before {
                assert_eq!(map.get(key), Some(value), "{}: {key} changed", case.name);
            }
            let mut added: Vec<_> = map
                .keys()
                .filter(|k| !case.before.contains_key(*k))
                .cloned()
                .collect();
            added.sort();
            assert_eq!(added, case.added, "{}", case.name);
            if let Some(tp) = map.get("traceparent").filter(|_| !case.added.is_empty()) {
                assert_eq!(tp.data_type(), "String");
                assert!(tp.string_value().unwrap().starts_with("00-"));
            }
        }
    }

    #[test]
    fn queue_names() {
        let cases = [
            (
                "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
                Some("orders"),
            ),
            (
                "http://127.0.0.1:5055/123456789012/orders.fifo/",
                Some("orders.fifo"),
            ),
            ("", None),
        ];
        for (url, name) in cases {
            assert_eq!(queue_name(url), name, "{url}");
        }
    }
}
