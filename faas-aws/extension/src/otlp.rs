//! Small conversions into and out of OTLP protobuf messages: times, durations, attributes, the
//! spans of a request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::transform::common::tonic::Attributes;

/// Every span of `request`, across its resources and scopes, in order.
pub(crate) fn spans(request: &ExportTraceServiceRequest) -> impl Iterator<Item = &Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
}

/// Nanoseconds since the Unix epoch; times before it read as 0, times past year 2554 saturate.
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A duration of `ms` milliseconds, rounded to the nearest nanosecond (so `125.33` is exactly
/// 125,330,000 ns); negative, NaN and infinite values read as zero, huge ones saturate.
pub(crate) fn millis(ms: f64) -> Duration {
    if !(ms.is_finite() && ms > 0.0) {
        return Duration::ZERO;
    }
    let nanos = (ms * 1e6).round();
    if nanos >= u64::MAX as f64 {
        Duration::from_nanos(u64::MAX)
    } else {
        // In range and non-negative: the cast is exact for whole numbers.
        Duration::from_nanos(nanos as u64)
    }
}

/// `time + duration`, saturating at `time` when it would overflow.
pub(crate) fn plus(time: SystemTime, duration: Duration) -> SystemTime {
    time.checked_add(duration).unwrap_or(time)
}

/// `time - duration`, saturating at `time` when it would underflow.
pub(crate) fn minus(time: SystemTime, duration: Duration) -> SystemTime {
    time.checked_sub(duration).unwrap_or(time)
}

/// API key-values as OTLP key-values.
pub(crate) fn attributes(kvs: Vec<opentelemetry::KeyValue>) -> Vec<ProtoKeyValue> {
    Attributes::from(kvs).0
}

/// An SDK resource as an OTLP resource.
pub(crate) fn resource(resource: &opentelemetry_sdk::Resource) -> ProtoResource {
    ProtoResource {
        attributes: attributes(
            resource
                .iter()
                .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone()))
                .collect(),
        ),
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    }
}

/// The value of attribute `key` among OTLP `attributes`.
pub(crate) fn find<'a>(attributes: &'a [ProtoKeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

/// The string value of attribute `key`.
pub(crate) fn find_str<'a>(attributes: &'a [ProtoKeyValue], key: &str) -> Option<&'a str> {
    match find(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// The boolean value of attribute `key`.
pub(crate) fn find_bool(attributes: &[ProtoKeyValue], key: &str) -> Option<bool> {
    match find(attributes, key)? {
        any_value::Value::BoolValue(b) => Some(*b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate_instead_of_panicking() {
        assert_eq!(unix_nanos(UNIX_EPOCH + Duration::from_nanos(42)), 42);
        assert_eq!(unix_nanos(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(millis(1.5), Duration::from_micros(1500));
        assert_eq!(millis(-1.0), Duration::ZERO);
        assert_eq!(millis(f64::NAN), Duration::ZERO);
        assert_eq!(millis(f64::INFINITY), Duration::ZERO);
        assert_eq!(millis(1e300), Duration::from_nanos(u64::MAX));
        assert_eq!(millis(125.33), Duration::from_nanos(125_330_000));
        assert_eq!(millis(2599.4), Duration::from_nanos(2_599_400_000));
        let t = UNIX_EPOCH + Duration::from_secs(10);
        assert_eq!(plus(t, Duration::MAX), t);
        assert_eq!(
            minus(t, Duration::from_secs(4)),
            UNIX_EPOCH + Duration::from_secs(6)
        );
    }

    #[test]
    fn finds_typed_attributes() {
        let attrs = attributes(vec![
            opentelemetry::KeyValue::new("s", "x"),
            opentelemetry::KeyValue::new("b", true),
        ]);
        assert_eq!(find_str(&attrs, "s"), Some("x"));
        assert_eq!(find_bool(&attrs, "b"), Some(true));
        assert_eq!(find_str(&attrs, "b"), None);
        assert_eq!(find_bool(&attrs, "missing"), None);
    }
}
