//! Trigger detection: what an incoming Lambda event says about the invocation.
//!
//! [`describe`] looks at the raw JSON payload (a [`serde_json::Value`], so it works whatever
//! type the handler deserialises the event into) and returns a [`TriggerDescription`]: the
//! `faas.trigger`, the span name and kind, the attributes the conventions ask for, the remote
//! parent or the links to the producers, and one [`MessageDescription`] per message of a batch.
//!
//! It never panics and never fails: a payload it does not recognise (a direct invocation, a
//! shape of a service not listed here, `null`, an array, a string, a truncated event) is
//! [`Trigger::Other`] with no attributes.
//!
//! # Recognised shapes
//!
//! | event                          | distinguishing fields                                   | trigger      | kind     |
//! |--------------------------------|---------------------------------------------------------|--------------|----------|
//! | API Gateway REST (v1)          | `httpMethod`, `resource`, `requestContext`              | `http`       | SERVER   |
//! | API Gateway HTTP API (v2)      | `version: "2.0"`, `requestContext.http`                 | `http`       | SERVER   |
//! | Lambda function URL            | as v2, `requestContext.domainName` `*.lambda-url.*.on.aws` | `http`    | SERVER   |
//! | Application Load Balancer      | `httpMethod`, `requestContext.elb`                      | `http`       | SERVER   |
//! | SQS                            | `Records[].eventSource == "aws:sqs"`                    | `pubsub`     | CONSUMER |
//! | SNS                            | `Records[].EventSource == "aws:sns"`                    | `pubsub`     | CONSUMER |
//! | Kinesis Data Streams           | `Records[].eventSource == "aws:kinesis"`                | `pubsub`     | CONSUMER |
//! | EventBridge                    | `detail-type`, `source`, `detail`                       | `pubsub`     | CONSUMER |
//! | EventBridge schedule           | as above, `source == "aws.events"`, `detail-type == "Scheduled Event"` | `timer` | SERVER |
//! | S3 notification                | `Records[].eventSource == "aws:s3"`                     | `datasource` | SERVER   |
//! | DynamoDB Streams               | `Records[].eventSource == "aws:dynamodb"`               | `datasource` | SERVER   |
//! | CloudWatch Logs subscription   | `awslogs.data`                                          | `other`      | (default)|
//! | anything else                  |                                                         | `other`      | (default)|
//!
//! A `Records` event is recognised only when every record comes from the same service; an empty
//! or mixed `Records` array is [`Trigger::Other`].
//!
//! # Parents and links
//!
//! HTTP requests continue the caller's trace: the parent is extracted from the request headers
//! with the configured [`Propagation`] ([`DescribeOptions::propagation`]). Message triggers
//! never take a parent: a batch span *links* to each message's creation context, read with
//! fixed propagators because the format is chosen by the producer, not by this function's
//! configuration (W3C `traceparent`/`tracestate` first, AWS X-Ray as the fallback; for SNS
//! delivered to SQS without raw delivery, the SNS envelope in the message body). Only
//! `OTEL_PROPAGATORS=none` ([`Propagation::is_disabled`]) turns the links off as well.
//!
//! # Privacy
//!
//! No request header is recorded except the user agent. `authorization`, `cookie`,
//! `set-cookie`, `x-api-key`, `proxy-authorization` and the headers of
//! [`DescribeOptions::denied_headers`] are never read into any attribute (denying `user-agent`,
//! `host` or `x-forwarded-for` drops the attribute derived from it). `url.query` is recorded with
//! the values of [`REDACTED_QUERY_PARAMS`] and [`DescribeOptions::denied_query_params`]
//! replaced by `REDACTED`, as the URL conventions recommend.

use std::collections::HashMap;
use std::sync::OnceLock;

use faas_core::invocation::Trigger;
use faas_core::propagation::{MapExtractor, Propagation, has_remote_parent};
use opentelemetry::trace::{Link, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use serde_json::Value;

mod dynamodb;
mod eventbridge;
mod http;
mod kinesis;
mod s3;
mod sns;
mod sqs;

pub use eventbridge::{EVENTBRIDGE_DETAIL_FIELD, EVENTBRIDGE_RULE_ARN};
pub use http::{DENIED_HEADERS, REDACTED, REDACTED_QUERY_PARAMS};

/// The span name (and destination) of a batch whose messages come from several sources, as the
/// Lambda + SQS conventions spell it: `multiple_sources process`.
pub const MULTIPLE_SOURCES: &str = "multiple_sources";

/// What the event says about the invocation.
#[derive(Debug, Clone)]
pub struct TriggerDescription {
    /// `faas.trigger`.
    pub trigger: Trigger,
    /// The span name; `None` means the layer uses the function name (as the conventions require
    /// on Lambda for every trigger but HTTP routes and messaging).
    pub span_name: Option<String>,
    /// The span kind; `None` means the layer uses [`Trigger::span_kind`].
    pub kind: Option<SpanKind>,
    /// Attributes of the invocation span, besides those the layer adds itself
    /// (`faas.trigger`, `faas.invocation_id`, `faas.coldstart`, …).
    pub attributes: Vec<KeyValue>,
    /// The remote parent extracted from the request headers, only when it holds a valid remote
    /// span context (HTTP triggers only; messages are linked, not parented).
    pub parent: Option<Context>,
    /// Links of the invocation span: one per message whose creation context could be read.
    pub links: Vec<Link>,
    /// One entry per message of a batch (SQS, SNS, Kinesis, EventBridge), in event order, for
    /// per-message child spans. Empty for other triggers.
    pub messages: Vec<MessageDescription>,
}

impl TriggerDescription {
    /// An unrecognised event: [`Trigger::Other`], nothing else.
    pub fn other() -> Self {
        Self::new(Trigger::Other, None)
    }

    fn new(trigger: Trigger, kind: Option<SpanKind>) -> Self {
        Self {
            trigger,
            span_name: None,
            kind,
            attributes: Vec::new(),
            parent: None,
            links: Vec::new(),
            messages: Vec::new(),
        }
    }
}

/// One message of a batch.
#[derive(Debug, Clone)]
pub struct MessageDescription {
    /// The message id (SQS `messageId`, SNS `MessageId`, Kinesis sequence number, EventBridge
    /// event `id`), when the event has one.
    pub id: Option<String>,
    /// A link to the context in which the message was created, when the message carries a valid
    /// one.
    pub link: Option<Link>,
    /// Attributes of the per-message span (`messaging.message.id`).
    pub attributes: Vec<KeyValue>,
}

/// How [`describe`] reads the event.
#[derive(Debug, Clone, Default)]
pub struct DescribeOptions {
    /// The propagators used to extract an HTTP request's parent (`OTEL_PROPAGATORS`).
    pub propagation: Propagation,
    /// Header names (lowercase) never to read into attributes, on top of [`DENIED_HEADERS`].
    pub denied_headers: Vec<String>,
    /// Query parameter names whose values are replaced by `REDACTED` in `url.query`, on top of
    /// [`REDACTED_QUERY_PARAMS`] (compared case-insensitively).
    pub denied_query_params: Vec<String>,
}

/// Describes the invocation started by `event`. Never panics; unknown shapes are
/// [`Trigger::Other`] with no attributes.
pub fn describe(event: &Value, options: &DescribeOptions) -> TriggerDescription {
    let Some(object) = event.as_object() else {
        return TriggerDescription::other();
    };
    if let Some(records) = object.get("Records") {
        return describe_records(records, options);
    }
    if object.contains_key("awslogs") {
        // CloudWatch Logs subscription: no FaaS trigger value fits; `other`.
        return TriggerDescription::other();
    }
    if let Some(description) = http::describe(event, options) {
        return description;
    }
    if let Some(description) = eventbridge::describe(event, options) {
        return description;
    }
    TriggerDescription::other()
}

/// `Records` events: the service is the common `eventSource` (`EventSource` for SNS) of all
/// records.
fn describe_records(records: &Value, options: &DescribeOptions) -> TriggerDescription {
    let Some(records) = records.as_array() else {
        return TriggerDescription::other();
    };
    fn source(record: &Value) -> Option<&str> {
        str_at(record, &["eventSource"]).or_else(|| str_at(record, &["EventSource"]))
    }
    let Some(first) = records.first().and_then(source) else {
        return TriggerDescription::other();
    };
    if records.iter().any(|record| source(record) != Some(first)) {
        return TriggerDescription::other();
    }
    match first {
        "aws:sqs" => sqs::describe(records, options),
        "aws:sns" => sns::describe(records, options),
        "aws:kinesis" => kinesis::describe(records),
        "aws:s3" => s3::describe(records),
        "aws:dynamodb" => dynamodb::describe(records),
        _ => TriggerDescription::other(),
    }
}

/// The string at `path` (object keys) in `value`.
fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path)?.as_str()
}

/// The value at `path` (object keys) in `value`.
fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

/// The value shared by every item, `None` when items disagree or one has none.
fn common<'a, T: PartialEq>(items: &'a [Value], get: impl Fn(&'a Value) -> Option<T>) -> Option<T> {
    let mut values = items.iter().map(get);
    let first = values.next()??;
    values.all(|v| v.as_ref() == Some(&first)).then_some(first)
}

/// The common messaging attributes and span name of a batch whose records come from the
/// sources `destinations` (one per record, `None` when a record names none).
///
/// `messaging.batch.message_count` is the number of records. It is set for every SQS and
/// Kinesis invocation, since the event source mapping is a batching API even when a batch holds
/// one record (`always_count`), and for SNS (one notification per invocation) only in the
/// unexpected case of several records.
fn messaging_batch(
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
fn message(id: Option<&str>, link: Option<Link>) -> MessageDescription {
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
fn message_link(
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
fn links_of(messages: &[MessageDescription]) -> Vec<Link> {
    messages
        .iter()
        .filter_map(|message| message.link.clone())
        .collect()
}
