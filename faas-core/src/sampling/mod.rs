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
mod from_config;
mod keep_cold_start;
mod rate_meter;

pub use adaptive::AdaptiveSampler;
pub use from_config::{
    ADAPTIVE_SAMPLER_NAME, SAMPLER_ARG_VAR, SAMPLER_VAR, SamplerConfig, sampler_from_env,
};
pub use keep_cold_start::KeepColdStart;
pub use rate_meter::{RateMeter, WINDOW_BUCKETS};

use opentelemetry::trace::{TraceContextExt, TraceId, TraceState};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::SamplingDecision;
use opentelemetry_semantic_conventions::attribute::FAAS_COLDSTART;

/// Whether `attributes` contain `faas.coldstart = true` (a boolean).
pub fn is_cold_start(attributes: &[KeyValue]) -> bool {
    attributes
        .iter()
        .any(|kv| kv.key.as_str() == FAAS_COLDSTART && kv.value == Value::Bool(true))
}

/// The trace state of the parent span, or an empty one: what the SDK's own samplers return.
pub(crate) fn parent_trace_state(parent_context: Option<&Context>) -> TraceState {
    match parent_context {
        Some(cx) => cx.span().span_context().trace_state().clone(),
        None => TraceState::default(),
    }
}

/// The decision of the SDK's `TraceIdRatioBased(probability)` sampler, computed the same way:
/// the lower 64 bits of the trace id, shifted right by one, are compared with
/// `probability × 2^63`. Samplers using it with the same probability agree on every trace id,
/// and a trace kept at probability `p` is also kept at any higher probability.
pub(crate) fn ratio_decision(probability: f64, trace_id: TraceId) -> SamplingDecision {
    if probability >= 1.0 {
        return SamplingDecision::RecordAndSample;
    }
    let upper_bound = (probability.max(0.0) * (1u64 << 63) as f64) as u64;
    let bytes = trace_id.to_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[8..]);
    if (u64::from_be_bytes(low) >> 1) < upper_bound {
        SamplingDecision::RecordAndSample
    } else {
        SamplingDecision::Drop
    }
}

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
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..count)
            .map(|_| TraceId::from((u128::from(next()) << 64) | u128::from(next())))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry_sdk::trace::Sampler;

    #[test]
    fn ratio_decision_matches_the_sdk_trace_id_ratio_sampler() {
        for probability in [0.0, 0.01, 0.1, 0.5, 0.999, 1.0] {
            let sdk = Sampler::TraceIdRatioBased(probability);
            for trace_id in test_support::trace_ids(2_000) {
                let expected = test_support::decide(&sdk, None, trace_id, &[]).decision;
                assert_eq!(ratio_decision(probability, trace_id), expected);
            }
        }
    }

    #[test]
    fn cold_start_attribute_must_be_boolean_true() {
        assert!(is_cold_start(&[KeyValue::new(FAAS_COLDSTART, true)]));
        assert!(!is_cold_start(&[KeyValue::new(FAAS_COLDSTART, false)]));
        assert!(!is_cold_start(&[KeyValue::new(FAAS_COLDSTART, "true")]));
        assert!(!is_cold_start(&[]));
    }
}
