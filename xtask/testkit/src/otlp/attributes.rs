//! Reading and writing OTLP attributes and ids.

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};

fn value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()
}

/// The string, int, bool or double value of `key`, as text (`"200"`, `"true"`).
pub fn attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    match value(attributes, key)? {
        Value::StringValue(s) => Some(s.clone()),
        Value::IntValue(i) => Some(i.to_string()),
        Value::BoolValue(b) => Some(b.to_string()),
        Value::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

/// Checks that `attributes` has each key with the value, as text ([`attr`]); a failure names
/// the key. For tests: it panics when a value differs or is absent.
#[track_caller]
pub fn assert_attrs(attributes: &[KeyValue], expected: &[(&str, &str)]) {
    for (key, value) in expected {
        assert_eq!(attr(attributes, key).as_deref(), Some(*value), "{key}");
    }
}

/// The value of `key` if it is a string.
pub fn str_attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match value(attributes, key)? {
        Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// The value of `key` if it is an int.
pub fn int_attr(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match value(attributes, key)? {
        Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

/// The value of `key` if it is a bool.
pub fn bool_attr(attributes: &[KeyValue], key: &str) -> Option<bool> {
    match value(attributes, key)? {
        Value::BoolValue(b) => Some(*b),
        _ => None,
    }
}

/// Every attribute with a value, by key (typed values, for exact comparisons).
pub fn attribute_map(attributes: &[KeyValue]) -> HashMap<String, Value> {
    attributes
        .iter()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?.value?)))
        .collect()
}

/// A string attribute.
pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// Lowercase hex of an id (`trace_id`, `span_id`, `parent_span_id`).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
