//! The decisions every sampler here shares: is this a cold start, the parent's trace state,
//! the SDK's trace-id ratio.

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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sampling::test_support;
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
