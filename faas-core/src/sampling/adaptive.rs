//! A sampler that keeps about a target number of new traces per second.

use std::sync::Arc;
use std::time::Instant;

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

use super::decision::{is_cold_start, parent_trace_state, ratio_decision};
use super::rate_meter::RateMeter;

/// Keeps about `target_per_second` new traces per second, however busy the function is.
///
/// - **Parent-based.** A span with a valid parent span context follows the parent: sampled →
///   `RecordAndSample`, not sampled → `Drop`. The parent's trace state is passed through, as
///   the SDK's samplers do.
/// - **Root spans** (no valid parent) are counted in a [`RateMeter`], and sampled with
///   probability `p = min(1, target_per_second / measured rate)`. The decision is taken from
///   the trace id exactly as the SDK's `TraceIdRatioBased` does (lower 64 bits of the trace id,
///   shifted right by one, against `p × 2^63`), so it is deterministic: the same trace id at the
///   same probability always gets the same decision, and other services using ratio sampling
///   agree with it.
/// - **Cold starts** (`faas.coldstart = true` among the creation attributes) are always
///   sampled, even under an unsampled parent (see [`KeepColdStart`](super::KeepColdStart) for
///   why).
///
/// Below the target every root span is kept. Clones share the meter, so a clone installed in the
/// tracer provider and one kept for inspection see the same rate. The meter is per process:
/// with many instances the function as a whole keeps about `target × instances` traces per
/// second at most.
///
/// The rate includes every root span this sampler decides, so spans started without a parent
/// outside the invocation also count towards it.
#[derive(Debug, Clone)]
pub struct AdaptiveSampler {
    target_per_second: f64,
    meter: Arc<RateMeter>,
}

impl AdaptiveSampler {
    /// A sampler keeping about `target_per_second` root traces per second, with its own meter.
    ///
    /// A negative or NaN target keeps no root spans (parents and cold starts still decide); an
    /// infinite one keeps them all. [`SamplerConfig`](super::SamplerConfig) rejects such
    /// targets before they get here.
    pub fn new(target_per_second: f64) -> Self {
        Self::with_meter(target_per_second, Arc::new(RateMeter::new()))
    }

    /// A sampler using `meter` (which may be shared, or start at an injected time in tests).
    pub fn with_meter(target_per_second: f64, meter: Arc<RateMeter>) -> Self {
        let target_per_second = if target_per_second.is_nan() || target_per_second < 0.0 {
            0.0
        } else {
            target_per_second
        };
        Self {
            target_per_second,
            meter,
        }
    }

    /// The target number of root traces per second.
    pub fn target_per_second(&self) -> f64 {
        self.target_per_second
    }

    /// The meter counting root spans.
    pub fn meter(&self) -> &Arc<RateMeter> {
        &self.meter
    }

    /// The probability a root span started at `now` would be kept with, from the rate measured
    /// so far (without recording anything).
    pub fn probability_at(&self, now: Instant) -> f64 {
        if self.target_per_second <= 0.0 {
            return 0.0;
        }
        let rate = self.meter.rate_at(now);
        if rate <= self.target_per_second {
            1.0
        } else {
            self.target_per_second / rate
        }
    }

    /// The whole decision of [`ShouldSample::should_sample`], with the current time given
    /// (for tests with an injected clock).
    pub fn should_sample_at(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        attributes: &[KeyValue],
        now: Instant,
    ) -> SamplingResult {
        let parent_sampled = parent_context
            .map(|cx| cx.span().span_context().clone())
            .filter(|sc| sc.is_valid())
            .map(|sc| sc.is_sampled());
        let decision = match parent_sampled {
            _ if is_cold_start(attributes) => {
                if parent_sampled.is_none() {
                    self.meter.record_at(now);
                }
                SamplingDecision::RecordAndSample
            }
            Some(true) => SamplingDecision::RecordAndSample,
            Some(false) => SamplingDecision::Drop,
            None => {
                self.meter.record_at(now);
                ratio_decision(self.probability_at(now), trace_id)
            }
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: parent_trace_state(parent_context),
        }
    }
}

impl ShouldSample for AdaptiveSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        self.should_sample_at(parent_context, trace_id, attributes, Instant::now())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sampling::test_support::{decide, parent, trace_ids};
    use opentelemetry::trace::TraceState;
    use opentelemetry_semantic_conventions::attribute::FAAS_COLDSTART;
    use std::time::Duration;

    /// Feeds `count` root spans at `per_second`, starting at `start`; returns how many were kept.
    fn run(sampler: &AdaptiveSampler, ids: &[TraceId], start: Instant, per_second: u64) -> usize {
        let step = Duration::from_nanos(1_000_000_000 / per_second);
        ids.iter()
            .enumerate()
            .filter(|(i, id)| {
                let now = start + step * (*i as u32);
                sampler.should_sample_at(None, **id, &[], now).decision
                    == SamplingDecision::RecordAndSample
            })
            .count()
    }

    #[test]
    fn at_ten_times_the_target_keeps_about_ten_percent() {
        let t0 = Instant::now();
        let meter = Arc::new(RateMeter::starting_at(t0));
        // Warm the meter up with 10 s of traffic at 100/s.
        for i in 0..1000u32 {
            meter.record_at(t0 + Duration::from_millis(10) * i);
        }
        let sampler = AdaptiveSampler::with_meter(10.0, meter);
        let ids = trace_ids(10_000);
        // 10,000 root spans over the next 100 s at 100/s: the target is 10/s.
        let kept = run(&sampler, &ids, t0 + Duration::from_secs(10), 100);
        assert!((900..=1100).contains(&kept), "kept {kept} of 10000");
        let p = sampler.probability_at(t0 + Duration::from_secs(110));
        assert!((p - 0.1).abs() < 0.01, "p = {p}");
    }

    #[test]
    fn decision_is_deterministic_per_trace_id() {
        let t0 = Instant::now();
        let warmed = || {
            let meter = Arc::new(RateMeter::starting_at(t0));
            for _ in 0..1000 {
                meter.record_at(t0 + Duration::from_secs(9));
            }
            AdaptiveSampler::with_meter(10.0, meter)
        };
        // Two instances seeing the same traffic take the same decision for every trace id, and
        // agree with ratio sampling at the probability they used.
        let (a, b) = (warmed(), warmed());
        let now = t0 + Duration::from_secs(9);
        let mut kept = 0;
        for id in trace_ids(1000) {
            let first = a.should_sample_at(None, id, &[], now).decision;
            assert_eq!(first, ratio_decision(a.probability_at(now), id));
            assert_eq!(b.should_sample_at(None, id, &[], now).decision, first);
            kept += usize::from(first == SamplingDecision::RecordAndSample);
        }
        // The rate grows from 1001 to 2000 per 9 s, so p falls from about 9% to 4.5%.
        assert!((30..=110).contains(&kept), "kept {kept}");
    }

    #[test]
    fn below_the_target_keeps_everything() {
        let t0 = Instant::now();
        let sampler = AdaptiveSampler::with_meter(10.0, Arc::new(RateMeter::starting_at(t0)));
        let ids = trace_ids(500);
        // 5 per second for 100 s.
        assert_eq!(run(&sampler, &ids, t0, 5), 500);
    }

    #[test]
    fn follows_a_valid_parent_and_passes_its_trace_state() {
        let sampler = AdaptiveSampler::new(0.0);
        let state: TraceState = "k=v".parse().unwrap();
        for sampled in [true, false] {
            let cx = parent(sampled);
            for id in trace_ids(50) {
                let result = decide(&sampler, Some(&cx), id, &[]);
                let expected = if sampled {
                    SamplingDecision::RecordAndSample
                } else {
                    SamplingDecision::Drop
                };
                assert_eq!(result.decision, expected);
                assert_eq!(result.trace_state, state);
            }
        }
        // Spans with a parent are not counted as new traces.
        assert_eq!(sampler.meter().count_at(Instant::now()), 0);
        // A context without a valid span is a root: with target 0, dropped.
        let empty = Context::new();
        let id = trace_ids(1)[0];
        assert_eq!(
            decide(&sampler, Some(&empty), id, &[]).decision,
            SamplingDecision::Drop
        );
        assert_eq!(sampler.meter().count_at(Instant::now()), 1);
    }

    #[test]
    fn cold_start_is_always_sampled() {
        let sampler = AdaptiveSampler::new(0.0);
        let cold = [KeyValue::new(FAAS_COLDSTART, true)];
        let unsampled = parent(false);
        for id in trace_ids(100) {
            assert_eq!(
                decide(&sampler, None, id, &cold).decision,
                SamplingDecision::RecordAndSample
            );
            assert_eq!(
                decide(&sampler, Some(&unsampled), id, &cold).decision,
                SamplingDecision::RecordAndSample
            );
            assert_eq!(
                decide(&sampler, None, id, &[]).decision,
                SamplingDecision::Drop
            );
        }
    }

    #[test]
    fn invalid_targets_are_sanitized() {
        assert_eq!(AdaptiveSampler::new(f64::NAN).target_per_second(), 0.0);
        assert_eq!(AdaptiveSampler::new(-3.0).target_per_second(), 0.0);
        let all = AdaptiveSampler::new(f64::INFINITY);
        for id in trace_ids(100) {
            assert_eq!(
                decide(&all, None, id, &[]).decision,
                SamplingDecision::RecordAndSample
            );
        }
    }
}
