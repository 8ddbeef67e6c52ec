//! DynamoDB Streams.

use faas_core::invocation::Trigger;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use opentelemetry_semantic_conventions::attribute as attr;
use serde_json::Value;

use super::description::TriggerDescription;
use super::json_path::{at, str_at};

/// The table name of a stream ARN:
/// `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`.
fn table_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let name = resource.strip_prefix("table/")?.split('/').next()?;
    (!name.is_empty()).then_some(name)
}

/// `faas.document.operation` of a stream event name: `INSERT` → `insert`, `MODIFY` → `edit`,
/// `REMOVE` → `delete`.
fn operation(event_name: &str) -> Option<&'static str> {
    match event_name {
        "INSERT" => Some("insert"),
        "MODIFY" => Some("edit"),
        "REMOVE" => Some("delete"),
        _ => None,
    }
}

/// The first record describes the invocation (a batch may mix operations: the first one's is
/// recorded); `messaging.batch.message_count` gives the number of records when there is more
/// than one. The item keys are not recorded (`faas.document.name` is omitted): they are user
/// data.
pub(super) fn describe(records: &[Value]) -> TriggerDescription {
    let mut description = TriggerDescription::new(Trigger::Datasource, Some(SpanKind::Server));
    let Some(record) = records.first() else {
        return description;
    };
    let attributes = &mut description.attributes;
    if let Some(table) = str_at(record, &["eventSourceARN"]).and_then(table_name) {
        attributes.push(KeyValue::new(
            attr::FAAS_DOCUMENT_COLLECTION,
            table.to_owned(),
        ));
    }
    if let Some(operation) = str_at(record, &["eventName"]).and_then(operation) {
        attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_OPERATION, operation));
    }
    let time = at(record, &["dynamodb", "ApproximateCreationDateTime"])
        .and_then(Value::as_f64)
        .and_then(rfc3339_utc);
    if let Some(time) = time {
        attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_TIME, time));
    }
    if records.len() > 1 {
        attributes.push(KeyValue::new(
            attr::MESSAGING_BATCH_MESSAGE_COUNT,
            i64::try_from(records.len()).unwrap_or(i64::MAX),
        ));
    }
    description
}

/// Seconds since the Unix epoch → `YYYY-MM-DDThh:mm:ssZ` (fractions dropped); `None` outside
/// years 1970..=9999 or for a non-finite value.
fn rfc3339_utc(epoch_seconds: f64) -> Option<String> {
    // 253402300800 = 10000-01-01T00:00:00Z.
    if !epoch_seconds.is_finite() || !(0.0..253_402_300_800.0).contains(&epoch_seconds) {
        return None;
    }
    // In range, so the truncating conversion is exact for the whole seconds.
    #[allow(clippy::cast_possible_truncation)]
    let seconds = epoch_seconds.floor() as i64;
    let time = chrono::DateTime::from_timestamp(seconds, 0)?;
    Some(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        let arn =
            "arn:aws:dynamodb:us-east-1:123456789012:table/Books/stream/2015-06-27T00:48:05.899";
        assert_eq!(table_name(arn), Some("Books"));
        assert_eq!(table_name("arn:aws:dynamodb:us-east-1:1:table/"), None);
        assert_eq!(table_name("arn:aws:sqs:us-east-1:1:q"), None);
        assert_eq!(table_name("garbage"), None);
    }

    #[test]
    fn operations() {
        assert_eq!(operation("INSERT"), Some("insert"));
        assert_eq!(operation("MODIFY"), Some("edit"));
        assert_eq!(operation("REMOVE"), Some("delete"));
        assert_eq!(operation("insert"), None);
    }

    #[test]
    fn timestamps() {
        for (seconds, expected) in [
            (0.0, Some("1970-01-01T00:00:00Z")),
            (1_428_537_600.0, Some("2015-04-09T00:00:00Z")),
            (1_479_499_740.9, Some("2016-11-18T20:09:00Z")),
            (951_782_400.0, Some("2000-02-29T00:00:00Z")),
            (1_709_164_799.0, Some("2024-02-28T23:59:59Z")),
            (4_102_444_800.0, Some("2100-01-01T00:00:00Z")),
            (253_402_300_799.0, Some("9999-12-31T23:59:59Z")),
            (253_402_300_800.0, None),
            (-1.0, None),
            (f64::NAN, None),
            (f64::INFINITY, None),
        ] {
            assert_eq!(rfc3339_utc(seconds).as_deref(), expected, "{seconds}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_number_is_a_timestamp_or_none(seconds in proptest::num::f64::ANY) {
            if let Some(text) = rfc3339_utc(seconds) {
                proptest::prop_assert_eq!(text.len(), 20);
                let parsed = chrono::DateTime::parse_from_rfc3339(&text).ok();
                proptest::prop_assert_eq!(
                    parsed.map(|p| p.timestamp()),
                    Some(seconds.floor() as i64)
                );
            }
        }
    }
}
