//! What every message trigger shares: the batch span's name and messaging attributes, one
//! [`MessageDescription`] per message and its link to the producer.

use std::collections::HashMap;
use std::sync::OnceLock;

use faas_core::propagation::{MapExtractor, Propagation, has_remote_parent};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Link, TraceContextExt};
use serde_json::Value;

use super::description::{DescribeOptions, MessageDescription};
use super::json_path::str_at;

/// The span name (and destination) of a batch whose messages come from several sources, as the
/// Lambda + SQS conventions spell it: `multiple_sources process`.
pub const MULTIPLE_SOURCES: &str = "multiple_sources";

/// The source of each record: the last `:` field of the ARN at `path` (a queue's or a topic's
/// name), `None` where the record has no ARN there or it ends in `:`.
pub(super) fn arn_names<'a>(records: &'a [Value], path: &[&str]) -> Vec<Option<&'a str>> {
    records
        .iter()
        .map(|record| {
            str_at(record, path)
                .and_then(|arn| arn.rsplit(':').next())
                .filter(|name| !name.is_empty())
        })
        .collect()
}

/// The common messaging attributes and span name of a batch whose records come from the
/// sources `destinations` (one per record, `None` when a record names none).
///
/// `messaging.batch.message_count` is the number of records. It is set for every SQS and
/// Kinesis invocation, since the event source mapping is a batching API even when a batch holds
/// one record (`always_count`), and for SNS (one notification per invocation) only in the
/// unexpected case of several records.
pub(super) fn messaging_batch(
    system: &'static str,
    destinations: &[Option<&str>],
    always_count: bool,
) -> (String, Vec<KeyValue>) {
    let count = destinations.len();
    use opentelemetry_semantic_conventions::attribute as attr;
    let mut attributes = vec![
        KeyValue::new(attr::MESSAGING_SYSTEM, system),
        KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "process"),
        KeyValue::new(attr::MESSAGING_OPERATION_NAME, "process"),
    ];
    let first = destinations.first().copied().flatten();
    let name = match first {
        Some(name) if destinations.iter().all(|d| *d == Some(name)) => {
            attributes.push(KeyValue::new(
                attr::MESSAGING_DESTINATION_NAME,
                name.to_owned(),
            ));
            format!("{name} process")
        }
        Some(_) => format!("{MULTIPLE_SOURCES} process"),
        // No record names its source: the messaging fallback, the operation name alone.
        None if destinations.iter().all(Option::is_none) => "process".to_owned(),
        None => format!("{MULTIPLE_SOURCES} process"),
    };
    if always_count || count > 1 {
        attributes.push(KeyValue::new(
            attr::MESSAGING_BATCH_MESSAGE_COUNT,
            i64::try_from(count).unwrap_or(i64::MAX),
        ));
    }
    (name, attributes)
}

/// A message of a batch, with `messaging.message.id`.
pub(super) fn message(id: Option<&str>, link: Option<Link>) -> MessageDescription {
    use opentelemetry_semantic_conventions::attribute as attr;
    let attributes = id
        .map(|id| vec![KeyValue::new(attr::MESSAGING_MESSAGE_ID, id.to_owned())])
        .unwrap_or_default();
    MessageDescription {
        id: id.map(str::to_owned),
        link,
        attributes,
    }
}

/// The W3C trace-context propagator, for message attributes.
fn w3c() -> Option<&'static Propagation> {
    static W3C: OnceLock<Option<Propagation>> = OnceLock::new();
    W3C.get_or_init(|| Propagation::from_names("tracecontext").ok())
        .as_ref()
}

/// The X-Ray propagator, for `AWSTraceHeader` and EventBridge `trace-header`.
fn xray() -> Option<&'static Propagation> {
    static XRAY: OnceLock<Option<Propagation>> = OnceLock::new();
    XRAY.get_or_init(|| Propagation::from_names("xray").ok())
        .as_ref()
}

/// A link to the W3C context `traceparent` (+ `tracestate`), or else to the X-Ray header, when
/// either is valid.
pub(super) fn message_link(
    options: &DescribeOptions,
    traceparent: Option<&str>,
    tracestate: Option<&str>,
    xray_header: Option<&str>,
) -> Option<Link> {
    if options.propagation.is_disabled() {
        return None;
    }
    let w3c_link = traceparent.and_then(|traceparent| {
        let mut carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
        if let Some(tracestate) = tracestate {
            carrier.insert("tracestate".to_owned(), tracestate.to_owned());
        }
        link_from(w3c()?, &carrier)
    });
    w3c_link.or_else(|| {
        let carrier = HashMap::from([("x-amzn-trace-id".to_owned(), xray_header?.to_owned())]);
        link_from(xray()?, &carrier)
    })
}

fn link_from(propagation: &Propagation, carrier: &HashMap<String, String>) -> Option<Link> {
    let cx = propagation.extract(&MapExtractor(carrier));
    has_remote_parent(&cx).then(|| Link::with_context(cx.span().span_context().clone()))
}

/// The links of the batch span: every message's link, in message order.
pub(super) fn links_of(messages: &[MessageDescription]) -> Vec<Link> {
    messages
        .iter()
        .filter_map(|message| message.link.clone())
        .collect()
}
