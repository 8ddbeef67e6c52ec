//! Readers of OTLP/JSON values that the demo's span and log views share.

use serde_json::Value;

/// The elements of the array under `key` (none when it is missing or not an array).
pub(super) fn array<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter())
        .into_iter()
        .flatten()
}

/// The string under `key` (empty when missing).
pub(super) fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// OTLP/JSON encodes 64-bit integers as decimal strings; numbers are accepted too.
pub(super) fn number(value: Option<&Value>) -> u64 {
    match value {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}
