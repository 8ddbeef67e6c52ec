//! [`rate_decision`]: the rate part of tail sampling, the SDK's `TraceIdRatioBased` decision.

use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

use super::decision::{Decision, KeepReason};

/// Keeps `trace_id` at `probability`, as the SDK's `TraceIdRatioBased` sampler would: a pure
/// function of the trace id, so extensions with the same settings agree. A trace id that is
/// not 16 bytes has nothing to decide on and is kept.
pub(crate) fn rate_decision(probability: f64, trace_id: &[u8]) -> Decision {
    let Ok(bytes) = <[u8; 16]>::try_from(trace_id) else {
        return Decision::Keep(KeepReason::Rate);
    };
    let result = Sampler::TraceIdRatioBased(probability).should_sample(
        None,
        TraceId::from_bytes(bytes),
        "",
        &SpanKind::Internal,
        &[],
        &[],
    );
    if result.decision == SamplingDecision::RecordAndSample {
        Decision::Keep(KeepReason::Rate)
    } else {
        Decision::Drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_are_kept_and_probabilities_bound_the_decision() {
        assert_eq!(
            rate_decision(0.0, &[1, 2, 3]),
            Decision::Keep(KeepReason::Rate)
        );
        let id = 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128.to_be_bytes();
        assert_eq!(rate_decision(1.0, &id), Decision::Keep(KeepReason::Rate));
        assert_eq!(rate_decision(0.0, &id), Decision::Drop);
    }
}
