//! Sampling for serverless functions.
//!
//! - [`SamplerConfig`] reads `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` as the
//!   OpenTelemetry specification defines them, plus this project's
//!   [`faas_otel_adaptive`](ADAPTIVE_SAMPLER_NAME) sampler, and builds the sampler.
//! - [`AdaptiveSampler`] keeps about a target number of new traces per second, whatever the
//!   traffic, deciding from the trace id so that every function of a trace agrees.
//! - [`KeepColdStart`] wraps any sampler so that cold-start invocations are always recorded.
//! - [`RateMeter`] measures events per second over a sliding window.
//!
//! Cold starts are recognised by the attribute `faas.coldstart = true` among the attributes
//! given when the span is *created* (samplers never see attributes set later), so the
//! invocation span must be started with that attribute.

mod adaptive;
mod decision;
mod from_config;
mod keep_cold_start;
mod rate_meter;

pub use adaptive::AdaptiveSampler;
pub use decision::is_cold_start;
pub use from_config::{
    ADAPTIVE_SAMPLER_NAME, SAMPLER_ARG_VAR, SAMPLER_VAR, SamplerConfig, sampler_from_env,
};
pub use keep_cold_start::KeepColdStart;
pub use rate_meter::{RateMeter, WINDOW_BUCKETS};

#[cfg(test)]
pub(crate) mod test_support {
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::trace::{SamplingResult, ShouldSample};

    /// A context whose remote parent is valid and sampled or not, with trace state `k=v`.
    pub(crate) fn parent(sampled: bool) -> Context {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let state: TraceState = "k=v".parse().unwrap_or_default();
        let span_context = SpanContext::new(
            TraceId::from(0x0102_0304_0506_0708_0910_1112_1314_1516),
            SpanId::from(0x0102_0304_0506_0708),
            flags,
            true,
            state,
        );
        Context::new().with_remote_span_context(span_context)
    }

    /// Pseudo-random trace ids (splitmix64), reproducible.
    pub(crate) fn trace_ids(count: usize) -> Vec<TraceId> {
        let mut numbers = faas_testkit::SplitMix64::new(0x9E37_79B9_7F4A_7C15);
        (0..count)
            .map(|_| TraceId::from(numbers.next_u128()))
            .collect()
    }

    pub(crate) fn decide(
        sampler: &dyn ShouldSample,
        parent: Option<&Context>,
        trace_id: TraceId,
        attributes: &[KeyValue],
    ) -> SamplingResult {
        sampler.should_sample(
            parent,
            trace_id,
            "invocation",
            &SpanKind::Server,
            attributes,
            &[],
        )
    }
}
