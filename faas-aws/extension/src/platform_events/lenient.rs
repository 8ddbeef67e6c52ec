//! Lenient field readers for the record types (`#[serde(deserialize_with = ...)]`): the
//! Telemetry API's schema has grown over time, and one odd field should not lose a record.

use std::time::SystemTime;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use super::rfc3339::parse_rfc3339;

/// An RFC 3339 timestamp.
pub(crate) fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_rfc3339(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 timestamp")))
}

/// A value that is dropped (read as `None`) when it does not fit `T`.
pub(crate) fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

/// A list (of spans), each item that does not fit `T` dropped; anything but a list reads as
/// empty.
pub(crate) fn lenient_list<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| T::deserialize(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// A non-negative whole number; a non-negative finite float is rounded up.
pub(crate) fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    as_whole_number(&value).ok_or_else(|| {
        serde::de::Error::custom(format!("expected a non-negative number, found {value}"))
    })
}

/// As [`whole_number`], `None` when absent or not a number.
pub(crate) fn optional_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(as_whole_number(&value))
}

/// As [`whole_number`] for a field that may be absent (`#[serde(default)]` reads that as
/// `None`); a value that is present and not a non-negative number fails the record.
pub(crate) fn present_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    whole_number(deserializer).map(Some)
}

fn as_whole_number(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    // Saturating float-to-int conversion; finite and non-negative checked first.
    (f.is_finite() && f >= 0.0).then(|| f.ceil() as u64)
}
