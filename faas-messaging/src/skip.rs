//! Why the trace context was not injected into a message.

use std::fmt;

/// Why a helper did not inject the trace context. The interceptor records
/// [`SkipReason::as_str`] as `faas_otel.propagation.skipped` on the span; the message itself is
/// sent unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// The context holds no valid span context: there is nothing to carry.
    NoValidContext,
    /// The message already carries a `traceparent`/`tracestate` (or the EventBridge detail a
    /// `_faas_otel` field) set by the user: it is never overwritten.
    AlreadyPresent,
    /// The message has no room left for the context's attributes (SQS and SNS accept 10).
    AttributeLimit,
    /// The EventBridge entry's `detail` is missing or is not a JSON object.
    DetailNotObject,
    /// The EventBridge `detail` would exceed the 256 KiB event size limit.
    DetailTooLarge,
    /// The Lambda client context is not base64 of a JSON object (or its `custom` is not an
    /// object).
    ClientContextInvalid,
    /// The base64 client context would exceed Lambda's 3583-byte limit.
    ClientContextTooLarge,
    /// The SDK refused to build the attribute value.
    AttributeBuild,
}

impl SkipReason {
    /// The value recorded as `faas_otel.propagation.skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoValidContext => "no_valid_context",
            Self::AlreadyPresent => "already_present",
            Self::AttributeLimit => "attribute_limit",
            Self::DetailNotObject => "detail_not_json_object",
            Self::DetailTooLarge => "detail_too_large",
            Self::ClientContextInvalid => "client_context_invalid",
            Self::ClientContextTooLarge => "client_context_too_large",
            Self::AttributeBuild => "attribute_build_failed",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for SkipReason {}
