//! AWS Lambda `Invoke`: the context in the client context's `custom` map.

use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeInput};
use aws_smithy_runtime_api::client::interceptors::context::{Error, Input};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use serde_json::{Map, Value};

use crate::SkipReason;
use crate::carrier::w3c_fields;
use crate::plan::Plan;
use crate::sdk_error::code_of;

/// The largest client context Lambda accepts, in bytes of its base64 form.
pub const LAMBDA_MAX_CLIENT_CONTEXT_BYTES: usize = 3583;

/// Adds `traceparent` (and `tracestate` when non-empty) to the `custom` map of a Lambda client
/// context, given and returned in the base64 form the SDK's `client_context` takes.
///
/// An existing client context is decoded and merged: its other fields and `custom` entries are
/// kept; the user's own `traceparent`/`tracestate` are never overwritten. Skips (leaving
/// `client_context` unchanged) when the context is not valid, when the existing client context
/// is not base64 of a JSON object with an object `custom`, or when the result would exceed
/// [`LAMBDA_MAX_CLIENT_CONTEXT_BYTES`].
pub fn inject_lambda_client_context(
    cx: &Context,
    client_context: &mut Option<String>,
) -> Result<(), SkipReason> {
    let fields = w3c_fields(cx)?;
    let mut root = match client_context.as_deref().map(str::trim) {
        None | Some("") => Map::new(),
        Some(encoded) => {
            let bytes = STANDARD
                .decode(encoded)
                .map_err(|_| SkipReason::ClientContextInvalid)?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(root)) => root,
                _ => return Err(SkipReason::ClientContextInvalid),
            }
        }
    };
    let custom = root
        .entry("custom")
        .or_insert_with(|| Value::Object(Map::new()));
    if custom.is_null() {
        *custom = Value::Object(Map::new());
    }
    let Value::Object(custom) = custom else {
        return Err(SkipReason::ClientContextInvalid);
    };
    let pairs = fields.pairs();
    if pairs.iter().any(|(name, _)| custom.contains_key(*name)) {
        return Err(SkipReason::AlreadyPresent);
    }
    for (name, value) in pairs {
        custom.insert(name.to_owned(), Value::String(value));
    }
    let encoded = STANDARD.encode(Value::Object(root).to_string());
    if encoded.len() > LAMBDA_MAX_CLIENT_CONTEXT_BYTES {
        return Err(SkipReason::ClientContextTooLarge);
    }
    *client_context = Some(encoded);
    Ok(())
}

/// The function name and region of an `Invoke` target: a name, `name:qualifier`, a partial ARN
/// (`123456789012:function:name`) or a full ARN (whose region wins).
pub(crate) fn function_target(function: &str) -> (&str, Option<&str>) {
    let parts: Vec<&str> = function.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", region, _, "function", name, ..] => (name, Some(region)),
        [_, "function", name, ..] => (name, None),
        [name, ..] => (name, None),
        [] => (function, None),
    }
}

/// The span of a Lambda call.
pub(crate) fn plan(operation: &str, input: &Input, region: Option<&str>) -> Option<Plan> {
    if operation != "Invoke" {
        return None;
    }
    let function = input
        .downcast_ref::<InvokeInput>()?
        .function_name
        .as_deref()?;
    let (name, arn_region) = function_target(function);
    let mut plan = Plan::client("Lambda", "Invoke");
    plan.name = format!("{name} invoke");
    plan = plan
        .with(KeyValue::new(semconv::FAAS_INVOKED_NAME, name.to_owned()))
        .with(KeyValue::new(semconv::FAAS_INVOKED_PROVIDER, "aws"));
    Some(plan.with_known(semconv::FAAS_INVOKED_REGION, arn_region.or(region)))
}

/// Injects the context into the client context of the call.
pub(crate) fn inject(operation: &str, input: &mut Input, cx: &Context) -> Option<SkipReason> {
    if operation != "Invoke" {
        return None;
    }
    let input = input.downcast_mut::<InvokeInput>()?;
    inject_lambda_client_context(cx, &mut input.client_context).err()
}

/// The error code of a failed call, when the SDK parsed one.
pub(crate) fn error_code(error: &Error) -> Option<String> {
    code_of::<InvokeError>(error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::test_support::{cx, cx_with_state};

    fn decode(encoded: &str) -> Value {
        serde_json::from_slice(&STANDARD.decode(encoded).unwrap()).unwrap()
    }

    #[test]
    fn client_context_table() {
        let c = cx();
        let tp = w3c_fields(&c).unwrap().traceparent;
        let encode = |v: Value| Some(STANDARD.encode(v.to_string()));
        type Case = (
            &'static str,
            Option<String>,
            Result<(), SkipReason>,
            Option<Value>,
        );
        let cases: Vec<Case> = vec![
            (
                "none",
                None,
                Ok(()),
                Some(serde_json::json!({"custom": {"traceparent": tp}})),
            ),
            (
                "empty",
                Some(String::new()),
                Ok(()),
                Some(serde_json::json!({"custom": {"traceparent": tp}})),
            ),
            (
                "merge",
                encode(
                    serde_json::json!({"client": {"app": "x"}, "custom": {"k": "v"}, "env": {"e": "1"}}),
                ),
                Ok(()),
                Some(
                    serde_json::json!({"client": {"app": "x"}, "custom": {"k": "v", "traceparent": tp}, "env": {"e": "1"}}),
                ),
            ),
            (
                "null custom",
                encode(serde_json::json!({"custom": null})),
                Ok(()),
                Some(serde_json::json!({"custom": {"traceparent": tp}})),
            ),
            (
                "user traceparent",
                encode(serde_json::json!({"custom": {"traceparent": "mine"}})),
                Err(SkipReason::AlreadyPresent),
                None,
            ),
            (
                "custom not object",
                encode(serde_json::json!({"custom": [1]})),
                Err(SkipReason::ClientContextInvalid),
                None,
            ),
            (
                "not json",
                Some(STANDARD.encode("nope")),
                Err(SkipReason::ClientContextInvalid),
                None,
            ),
            (
                "not base64",
                Some("%%%".into()),
                Err(SkipReason::ClientContextInvalid),
                None,
            ),
            (
                "array",
                encode(serde_json::json!([1])),
                Err(SkipReason::ClientContextInvalid),
                None,
            ),
            (
                "too large",
                encode(serde_json::json!({"custom": {"big": "a".repeat(2600)}})),
                Err(SkipReason::ClientContextTooLarge),
                None,
            ),
        ];
        for (name, before, result, expected) in cases {
            let mut client_context = before.clone();
            assert_eq!(
                inject_lambda_client_context(&c, &mut client_context),
                result,
                "{name}"
            );
            match expected {
                Some(expected) => {
                    let encoded = client_context.unwrap();
                    assert!(encoded.len() <= LAMBDA_MAX_CLIENT_CONTEXT_BYTES);
                    assert_eq!(decode(&encoded), expected, "{name}");
                }
                None => assert_eq!(client_context, before, "{name}: changed"),
            }
        }
        let mut state = None;
        inject_lambda_client_context(&cx_with_state(), &mut state).unwrap();
        assert_eq!(
            decode(&state.unwrap())["custom"]["tracestate"],
            "vendor=value"
        );
    }

    #[test]
    fn function_targets() {
        let cases = [
            ("my-fn", ("my-fn", None)),
            ("my-fn:live", ("my-fn", None)),
            ("123456789012:function:my-fn", ("my-fn", None)),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
                ("my-fn", Some("eu-west-1")),
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:my-fn:3",
                ("my-fn", Some("eu-west-1")),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(function_target(input), expected, "{input}");
        }
    }
}
