//! Trigger detection: what an incoming Lambda event says about the invocation.
//!
//! [`describe`] looks at the raw JSON payload (a [`serde_json::Value`], so it works whatever
//! type the handler deserialises the event into) and returns a [`TriggerDescription`]: the
//! `faas.trigger`, the span name and kind, the attributes the conventions ask for, the remote
//! parent or the links to the producers, and one [`MessageDescription`] per message of a batch.
//!
//! It never panics and never fails: a payload it does not recognise (a direct invocation, a
//! shape of a service not listed here, `null`, an array, a string, a truncated event) is
//! [`Trigger::Other`](faas_core::invocation::Trigger::Other) with no attributes.
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
//! or mixed `Records` array is [`Trigger::Other`](faas_core::invocation::Trigger::Other).
//!
//! # Parents and links
//!
//! HTTP requests continue the caller's trace: the parent is extracted from the request headers
//! with the configured [`Propagation`](faas_core::propagation::Propagation) ([`DescribeOptions::propagation`]). Message triggers
//! never take a parent: a batch span *links* to each message's creation context, read with
//! fixed propagators because the format is chosen by the producer, not by this function's
//! configuration (W3C `traceparent`/`tracestate` first, AWS X-Ray as the fallback; for SNS
//! delivered to SQS without raw delivery, the SNS envelope in the message body). Only
//! `OTEL_PROPAGATORS=none` ([`Propagation::is_disabled`](faas_core::propagation::Propagation::is_disabled)) turns the links off as well.
//!
//! X-Ray is read the PassThrough way ([`XrayHeader`](faas_core::propagation::XrayHeader)):
//! an X-Ray header becomes a parent only with `Sampled=1`. An HTTP request whose configured
//! propagators took a `Sampled=0` or deferred `x-amzn-trace-id` as the parent has no parent
//! and links to that segment instead; an SQS message whose `AWSTraceHeader` has only a `Root`
//! (nothing to link to) keeps its trace id in `faas_otel.xray.trace_id` on the message span.
//! The invocation's own header (`Lambda-Runtime-Trace-Id`) follows the same rule:
//! [`xray_parent`], [`correlate_with_xray`].
//!
//! # Privacy
//!
//! No request header is recorded except the user agent. `authorization`, `cookie`,
//! `set-cookie`, `x-api-key`, `proxy-authorization` and the headers denied by
//! [`DescribeOptions::privacy`] are never read into any attribute (denying `user-agent`,
//! `host` or `x-forwarded-for` drops the attribute derived from it). `url.query` is recorded with
//! the values of [`REDACTED_QUERY_PARAMS`] and of the options' denied query parameters
//! replaced by `REDACTED`, as the URL conventions recommend.

use serde_json::Value;

use self::json_path::str_at;

mod batch;
mod description;
mod dynamodb;
mod eventbridge;
mod http;
mod json_path;
mod kinesis;
mod s3;
mod sns;
mod sqs;
mod xray;

pub use batch::MULTIPLE_SOURCES;
pub use description::{DescribeOptions, MessageDescription, TriggerDescription};
pub use eventbridge::{EVENTBRIDGE_DETAIL_FIELD, EVENTBRIDGE_RULE_ARN};
pub use xray::{correlate_with_xray, xray_parent};
// The privacy lists are shared with every provider's HTTP instrumentation.
pub use faas_core::http_privacy::{DENIED_HEADERS, HttpPrivacy, REDACTED, REDACTED_QUERY_PARAMS};

/// Describes the invocation started by `event`. Never panics; unknown shapes are
/// [`Trigger::Other`](faas_core::invocation::Trigger::Other) with no attributes.
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
