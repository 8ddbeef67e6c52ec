//! [`Correlation`]: the trace id, span id and invocation id a log line carries, read from the
//! current OpenTelemetry context.
//!
//! The provider layers run the handler with the invocation's context current (and put the
//! invocation id in it, [`CurrentInvocationId`]); with the `tracing` bridge, entering a
//! `tracing` span makes that span's context current. So the line names the innermost span,
//! in the invocation's trace.

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt as _;

use crate::current_invocation::CurrentInvocationId;

/// What ties one log line to its trace and invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correlation {
    /// 32 lower-case hex digits, when a span is active.
    pub trace_id: Option<String>,
    /// 16 lower-case hex digits, when a span is active.
    pub span_id: Option<String>,
    /// Whether the active span is sampled.
    pub sampled: bool,
    /// The invocation's id (Lambda request id, Azure invocation id, ...), inside an invocation.
    pub invocation_id: Option<String>,
}

impl Correlation {
    /// The correlation of `cx`.
    pub fn of(cx: &Context) -> Self {
        let span = cx.span();
        let span_context = span.span_context();
        let valid = span_context.is_valid();
        Self {
            trace_id: valid.then(|| span_context.trace_id().to_string()),
            span_id: valid.then(|| span_context.span_id().to_string()),
            sampled: valid && span_context.is_sampled(),
            invocation_id: CurrentInvocationId::in_context(cx).map(str::to_owned),
        }
    }

    /// The correlation of the current context.
    pub fn current() -> Self {
        Context::map_current(Self::of)
    }
}
