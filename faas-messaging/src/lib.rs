#![doc = include_str!("../README.md")]

mod carrier;
mod interceptor;
mod plan;
mod sdk_error;
mod skip;

#[cfg(feature = "eventbridge")]
mod eventbridge;
#[cfg(feature = "lambda")]
mod lambda;
#[cfg(feature = "sns")]
mod sns;
#[cfg(feature = "sqs")]
mod sqs;

pub use carrier::{TRACEPARENT, TRACESTATE, XRAY_HEADER, xray_trace_header};
pub use interceptor::{TRACER_NAME, TracingInterceptor};
pub use skip::SkipReason;

#[cfg(feature = "eventbridge")]
pub use eventbridge::{
    EVENTBRIDGE_DETAIL_FIELD, EVENTBRIDGE_MAX_EVENT_BYTES, inject_eventbridge_detail,
    inject_eventbridge_entry,
};
#[cfg(feature = "lambda")]
pub use lambda::{LAMBDA_MAX_CLIENT_CONTEXT_BYTES, inject_lambda_client_context};
#[cfg(feature = "sns")]
pub use sns::{SNS_MAX_MESSAGE_ATTRIBUTES, inject_sns_attributes};
#[cfg(feature = "sqs")]
pub use sqs::{SQS_MAX_MESSAGE_ATTRIBUTES, inject_sqs_attributes};

#[cfg(test)]
mod test_support {
    #![allow(clippy::unwrap_used)]
    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    fn with_state(state: TraceState) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
            SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
            TraceFlags::SAMPLED,
            true,
            state,
        ))
    }

    /// A valid context without tracestate.
    pub(crate) fn cx() -> Context {
        with_state(TraceState::default())
    }

    /// A valid context with `tracestate: vendor=value`.
    pub(crate) fn cx_with_state() -> Context {
        with_state(TraceState::from_key_value([("vendor", "value")]).unwrap())
    }
}
