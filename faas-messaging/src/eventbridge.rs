//! Amazon EventBridge: `detail._faas_otel` and the entry's X-Ray trace header.

use aws_sdk_eventbridge::operation::put_events::{PutEventsError, PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_runtime_api::client::interceptors::context::{Error, Input, Output};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;
use serde_json::Value;

use crate::SkipReason;
use crate::carrier::{TRACEPARENT, TRACESTATE, inject_each, w3c_fields, xray_trace_header};
use crate::plan::Plan;
use crate::sdk_error::code_of;

/// The field of an event's `detail` object that carries the context:
/// `{"_faas_otel": {"traceparent": "…", "tracestate": "…"}}` (the consumer side reads the same
/// field, `faas_aws::triggers::EVENTBRIDGE_DETAIL_FIELD`).
pub const EVENTBRIDGE_DETAIL_FIELD: &str = "_faas_otel";

/// The largest EventBridge event (256 KiB); a detail that would grow beyond it is left alone.
pub const EVENTBRIDGE_MAX_EVENT_BYTES: usize = 256 * 1024;

/// `messaging.system` of EventBridge.
pub(crate) const SYSTEM: &str = "aws.eventbridge";

/// Returns `detail` with `"_faas_otel": {"traceparent": …, "tracestate": …}` added as the first
/// field of the JSON object. The user's text is kept byte for byte (no re-serialisation: key
/// order, number formatting and whitespace are untouched).
///
/// Skips when the context is not valid, when `detail` is not a JSON object, when it already has
/// a `_faas_otel` field, or when the result would exceed [`EVENTBRIDGE_MAX_EVENT_BYTES`].
pub fn inject_eventbridge_detail(cx: &Context, detail: &str) -> Result<String, SkipReason> {
    let fields = w3c_fields(cx)?;
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(detail) else {
        return Err(SkipReason::DetailNotObject);
    };
    if object.contains_key(EVENTBRIDGE_DETAIL_FIELD) {
        return Err(SkipReason::AlreadyPresent);
    }
    let mut carrier = serde_json::Map::new();
    carrier.insert(TRACEPARENT.to_owned(), Value::String(fields.traceparent));
    if let Some(state) = fields.tracestate {
        carrier.insert(TRACESTATE.to_owned(), Value::String(state));
    }
    let carrier = Value::Object(carrier).to_string();
    // The text is a JSON object: its first non-whitespace character is `{`.
    let open = detail.find('{').ok_or(SkipReason::DetailNotObject)?;
    let (head, rest) = detail.split_at(open + 1);
    let separator = if object.is_empty() { "" } else { "," };
    let result = format!("{head}\"{EVENTBRIDGE_DETAIL_FIELD}\":{carrier}{separator}{rest}");
    if result.len() > EVENTBRIDGE_MAX_EVENT_BYTES {
        return Err(SkipReason::DetailTooLarge);
    }
    Ok(result)
}

/// Injects the context into one `PutEvents` entry: the `detail` (see
/// [`inject_eventbridge_detail`]) and, when the user has not set one, the entry's `trace_header`
/// (X-Ray form). Returns why the detail was left unchanged, if it was.
pub fn inject_eventbridge_entry(
    cx: &Context,
    entry: &mut PutEventsRequestEntry,
) -> Result<(), SkipReason> {
    if entry.trace_header.is_none() {
        entry.trace_header = xray_trace_header(&cx.span().span_context().clone(), None);
    }
    let detail = entry.detail.as_deref().ok_or(SkipReason::DetailNotObject)?;
    entry.detail = Some(inject_eventbridge_detail(cx, detail)?);
    Ok(())
}

/// The bus name of an entry (`default` when unset); of an ARN, its name.
fn bus_name(entry: &PutEventsRequestEntry) -> &str {
    let bus = entry.event_bus_name.as_deref().unwrap_or("default");
    if bus.starts_with("arn:") {
        bus.rsplit('/').next().unwrap_or(bus)
    } else {
        bus
    }
}

/// The span of an EventBridge call.
pub(crate) fn plan(operation: &str, input: &Input) -> Option<Plan> {
    if operation != "PutEvents" {
        return None;
    }
    let entries = input
        .downcast_ref::<PutEventsInput>()?
        .entries
        .as_deref()
        .unwrap_or_default();
    let destination = entries
        .first()
        .map(bus_name)
        .filter(|first| entries.iter().all(|entry| bus_name(entry) == *first));
    let batch = (entries.len() != 1).then_some(entries.len());
    Some(Plan::producer(SYSTEM, "publish", destination, batch))
}

/// Injects the context into the entries of the call; the first reason an entry was skipped.
pub(crate) fn inject(operation: &str, input: &mut Input, cx: &Context) -> Option<SkipReason> {
    if operation != "PutEvents" {
        return None;
    }
    let input = input.downcast_mut::<PutEventsInput>()?;
    inject_each(input.entries.iter_mut().flatten(), |entry| {
        inject_eventbridge_entry(cx, entry)
    })
}

/// `messaging.message.id` of a single-event call.
pub(crate) fn message_id(operation: &str, output: &Output) -> Option<String> {
    if operation != "PutEvents" {
        return None;
    }
    match output
        .downcast_ref::<PutEventsOutput>()?
        .entries
        .as_deref()?
    {
        [single] => single.event_id.clone(),
        _ => None,
    }
}

/// The error code of a failed call, when the SDK parsed one.
pub(crate) fn error_code(error: &Error) -> Option<String> {
    code_of::<PutEventsError>(error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::test_support::{cx, cx_with_state};

    #[test]
    fn detail_table() {
        let c = cx();
        let tp = w3c_fields(&c).unwrap().traceparent;
        let cases: Vec<(&str, Result<String, SkipReason>)> = vec![
            (
                "{}",
                Ok(format!(r#"{{"_faas_otel":{{"traceparent":"{tp}"}}}}"#)),
            ),
            (
                r#" {"b": 1.0, "a": [1,2]}"#,
                Ok(format!(
                    r#" {{"_faas_otel":{{"traceparent":"{tp}"}},"b": 1.0, "a": [1,2]}}"#
                )),
            ),
            (r#"{"_faas_otel": 1}"#, Err(SkipReason::AlreadyPresent)),
            ("[1]", Err(SkipReason::DetailNotObject)),
            ("\"text\"", Err(SkipReason::DetailNotObject)),
            ("{not json", Err(SkipReason::DetailNotObject)),
        ];
        for (detail, expected) in cases {
            let result = inject_eventbridge_detail(&c, detail);
            assert_eq!(result, expected, "{detail}");
            if let Ok(text) = result {
                let value: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(value["_faas_otel"]["traceparent"], tp.as_str());
            }
        }
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(EVENTBRIDGE_MAX_EVENT_BYTES));
        assert_eq!(
            inject_eventbridge_detail(&c, &big),
            Err(SkipReason::DetailTooLarge)
        );
        assert_eq!(
            inject_eventbridge_detail(&Context::new(), "{}"),
            Err(SkipReason::NoValidContext)
        );
        let with_state = inject_eventbridge_detail(&cx_with_state(), "{}").unwrap();
        let value: Value = serde_json::from_str(&with_state).unwrap();
        assert_eq!(value["_faas_otel"]["tracestate"], "vendor=value");
    }

    #[test]
    fn entry_trace_header_kept_when_set() {
        let c = cx();
        let mut entry = PutEventsRequestEntry::builder()
            .detail("{}")
            .trace_header("mine")
            .build();
        inject_eventbridge_entry(&c, &mut entry).unwrap();
        assert_eq!(entry.trace_header.as_deref(), Some("mine"));
        let mut entry = PutEventsRequestEntry::builder().detail("[]").build();
        assert_eq!(
            inject_eventbridge_entry(&c, &mut entry),
            Err(SkipReason::DetailNotObject)
        );
        assert!(entry.trace_header.unwrap().starts_with("Root=1-"));
        assert_eq!(entry.detail.as_deref(), Some("[]"));
    }
}
