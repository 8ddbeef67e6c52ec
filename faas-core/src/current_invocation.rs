//! [`CurrentInvocationId`]: the invocation id carried in the invocation's OpenTelemetry
//! context, so that what runs inside the invocation (log lines, OTLP log records) can name it
//! without a handle on the span. A leaf module: it names nothing else of the crate.

use std::sync::Arc;

use opentelemetry::Context;

/// The invocation id (`faas.invocation_id`: the Lambda request id, the Azure invocation id,
/// the GCP execution or event id) in the invocation's [`Context`]. Set by
/// `Telemetry::start_invocation` when the invocation has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentInvocationId(pub Arc<str>);

impl CurrentInvocationId {
    /// The invocation id in `cx`, if the invocation had one.
    pub fn in_context(cx: &Context) -> Option<&str> {
        cx.get::<Self>().map(|id| &*id.0)
    }
}
