//! What [`describe`](super::describe) returns ([`TriggerDescription`], one
//! [`MessageDescription`] per message) and how it reads the event ([`DescribeOptions`]).

use faas_core::http_privacy::HttpPrivacy;
use faas_core::invocation::Trigger;
use faas_core::propagation::Propagation;
use opentelemetry::trace::{Link, SpanKind};
use opentelemetry::{Context, KeyValue};

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

    pub(super) fn new(trigger: Trigger, kind: Option<SpanKind>) -> Self {
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

/// How [`describe`](super::describe) reads the event.
#[derive(Debug, Clone, Default)]
pub struct DescribeOptions {
    /// The propagators used to extract an HTTP request's parent (`OTEL_PROPAGATORS`).
    pub propagation: Propagation,
    /// What HTTP triggers never record, on top of the built-in lists (the telemetry's
    /// `FAAS_OTEL_DENY_HEADERS` and `FAAS_OTEL_DENY_QUERY_PARAMS` in the layer).
    pub privacy: HttpPrivacy,
}
