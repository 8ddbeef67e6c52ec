//! S3 event notifications.

use faas_core::invocation::Trigger;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use opentelemetry_semantic_conventions::attribute as attr;
use serde_json::Value;

use faas_core::http_privacy::decode_query_component;

use super::description::TriggerDescription;
use super::json_path::str_at;

/// `faas.document.operation` of an S3 event name (with or without the `s3:` prefix):
///
/// | event name                                  | operation |
/// |---------------------------------------------|-----------|
/// | `ObjectCreated:*`                           | `insert`  |
/// | `ObjectRemoved:*`, `LifecycleExpiration:*`  | `delete`  |
/// | anything else (restore, tagging, ACL, replication, lifecycle transition, …) | `edit` |
fn operation(event_name: &str) -> &'static str {
    let name = event_name.strip_prefix("s3:").unwrap_or(event_name);
    if name.starts_with("ObjectCreated:") {
        "insert"
    } else if name.starts_with("ObjectRemoved:") || name.starts_with("LifecycleExpiration:") {
        "delete"
    } else {
        "edit"
    }
}

/// The first record describes the invocation; `messaging.batch.message_count` gives the number
/// of records when there is more than one.
pub(super) fn describe(records: &[Value]) -> TriggerDescription {
    let mut description = TriggerDescription::new(Trigger::Datasource, Some(SpanKind::Server));
    let Some(record) = records.first() else {
        return description;
    };
    let attributes = &mut description.attributes;
    if let Some(bucket) = str_at(record, &["s3", "bucket", "name"]) {
        attributes.push(KeyValue::new(
            attr::FAAS_DOCUMENT_COLLECTION,
            bucket.to_owned(),
        ));
    }
    if let Some(event_name) = str_at(record, &["eventName"]) {
        attributes.push(KeyValue::new(
            attr::FAAS_DOCUMENT_OPERATION,
            operation(event_name),
        ));
    }
    // Keys arrive URL-encoded (`+` for spaces); the document name is the decoded key.
    if let Some(key) = str_at(record, &["s3", "object", "key"]) {
        attributes.push(KeyValue::new(
            attr::FAAS_DOCUMENT_NAME,
            decode_query_component(key),
        ));
    }
    if let Some(time) = str_at(record, &["eventTime"]) {
        attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_TIME, time.to_owned()));
    }
    if records.len() > 1 {
        attributes.push(KeyValue::new(
            attr::MESSAGING_BATCH_MESSAGE_COUNT,
            i64::try_from(records.len()).unwrap_or(i64::MAX),
        ));
    }
    description
}

#[cfg(test)]
mod tests {
    use super::operation;

    #[test]
    fn operations() {
        for (name, expected) in [
            ("ObjectCreated:Put", "insert"),
            ("s3:ObjectCreated:CompleteMultipartUpload", "insert"),
            ("ObjectRemoved:Delete", "delete"),
            ("ObjectRemoved:DeleteMarkerCreated", "delete"),
            ("LifecycleExpiration:Delete", "delete"),
            ("ObjectRestore:Completed", "edit"),
            ("ObjectTagging:Put", "edit"),
            ("LifecycleTransition", "edit"),
            ("", "edit"),
        ] {
            assert_eq!(operation(name), expected, "{name}");
        }
    }
}
