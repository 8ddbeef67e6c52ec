//! [`TailSampler`]: keeps or drops whole traces, see the [module documentation](super).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::sampling::{AdaptiveSampler, RateMeter};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::bounded_map::BoundedMap;
use crate::platform_events::InvocationOutcome;

use super::decision::{Decision, FilterStats, KeepReason};
use super::rate::rate_decision;
use super::settings::{
    DEFAULT_RATE, DEFAULT_SLOW_MS, MODE_VAR, RATE_VAR, REMEMBERED_TRACES, SLOW_MS_VAR, SamplingMode,
};
use super::trace_summary::summarize;

/// The tail sampler; see the [module documentation](super).
#[derive(Debug)]
pub(crate) struct TailSampler {
    mode: SamplingMode,
    slow: Duration,
    sampler: AdaptiveSampler,
    anchor: (Instant, SystemTime),
    decisions: BoundedMap<Vec<u8>, Decision>,
}

impl TailSampler {
    /// Reads [`MODE_VAR`] (`all` or `decide`, any case), [`SLOW_MS_VAR`] (whole
    /// milliseconds) and [`RATE_VAR`] (a finite number ≥ 0 of traces per second). A bad
    /// value is an error naming the variable, the value and what is accepted.
    pub(crate) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mode = match env.get(MODE_VAR) {
            None => SamplingMode::All,
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "all" => SamplingMode::All,
                "decide" => SamplingMode::Decide,
                _ => {
                    return Err(ConfigError::new(
                        MODE_VAR,
                        raw,
                        "expected `all` (keep everything) or `decide` (apply tail sampling)",
                    ));
                }
            },
        };
        let slow_ms = match env.get(SLOW_MS_VAR) {
            None => DEFAULT_SLOW_MS,
            Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
                ConfigError::new(
                    SLOW_MS_VAR,
                    raw.clone(),
                    "expected a whole, non-negative number of milliseconds",
                )
            })?,
        };
        let rate = match env.get(RATE_VAR) {
            None => DEFAULT_RATE,
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(rate) if rate.is_finite() && rate >= 0.0 => rate,
                _ => {
                    return Err(ConfigError::new(
                        RATE_VAR,
                        raw,
                        "expected a finite, non-negative number of traces per second",
                    ));
                }
            },
        };
        Ok(Self::new(mode, Duration::from_millis(slow_ms), rate))
    }

    /// A sampler in `mode`, keeping traces of at least `slow` and about `rate_per_second` others;
    /// the rate is measured from now.
    pub(crate) fn new(mode: SamplingMode, slow: Duration, rate_per_second: f64) -> Self {
        let instant = Instant::now();
        Self {
            mode,
            slow,
            sampler: AdaptiveSampler::with_meter(
                rate_per_second,
                Arc::new(RateMeter::starting_at(instant)),
            ),
            anchor: (instant, SystemTime::now()),
            decisions: BoundedMap::new(REMEMBERED_TRACES),
        }
    }

    #[cfg(test)]
    /// Measures the rate from `start` instead of now (the `now` given to
    /// [`filter`](Self::filter) is read against it), forgetting what was measured.
    pub(crate) fn starting_at(mut self, start: SystemTime) -> Self {
        let instant = Instant::now();
        self.anchor = (instant, start);
        self.sampler = AdaptiveSampler::with_meter(
            self.sampler.target_per_second(),
            Arc::new(RateMeter::starting_at(instant)),
        );
        self
    }

    /// Whether tail sampling applies (`decide`); `all` keeps everything.
    pub(crate) fn is_enabled(&self) -> bool {
        self.mode == SamplingMode::Decide
    }

    #[cfg(test)]
    /// The mode.
    pub(crate) fn mode(&self) -> SamplingMode {
        self.mode
    }

    #[cfg(test)]
    /// The slow threshold.
    pub(crate) fn slow_threshold(&self) -> Duration {
        self.slow
    }

    #[cfg(test)]
    /// The target traces per second of the rate part.
    pub(crate) fn rate_per_second(&self) -> f64 {
        self.sampler.target_per_second()
    }

    /// The decision remembered for `trace_id`, if any.
    pub(crate) fn decision(&self, trace_id: &[u8]) -> Option<Decision> {
        self.decisions.get(trace_id).copied()
    }

    /// Keeps or drops each trace of `request` whole, as of `now`; see the
    /// [module documentation](super). With `all`, returns the request unchanged (every trace
    /// counted as kept). Empty scope and resource entries left by dropped spans are removed.
    pub(crate) fn filter(
        &mut self,
        mut request: ExportTraceServiceRequest,
        outcome_of: &dyn Fn(&str) -> Option<InvocationOutcome>,
        now: SystemTime,
    ) -> (ExportTraceServiceRequest, FilterStats) {
        let traces = summarize(&request, outcome_of);
        if !self.is_enabled() {
            let stats = FilterStats {
                kept_traces: traces.order.len() as u64,
                ..FilterStats::default()
            };
            return (request, stats);
        }

        let mut decided: HashMap<Vec<u8>, Decision> = HashMap::new();
        let mut candidates = Vec::new();
        for trace_id in &traces.order {
            let Some(summary) = traces.by_id.get(trace_id) else {
                continue;
            };
            if let Some(decision) = self.decision(trace_id) {
                decided.insert(trace_id.clone(), decision);
            } else if let Some(reason) = summary
                .reason
                .or_else(|| (summary.extent() >= self.slow).then_some(KeepReason::Slow))
            {
                decided.insert(trace_id.clone(), Decision::Keep(reason));
                self.decisions
                    .insert(trace_id.clone(), Decision::Keep(reason));
            } else {
                candidates.push(trace_id.clone());
            }
        }

        if !candidates.is_empty() {
            let instant = self.instant_of(now);
            for _ in &candidates {
                self.sampler.meter().record_at(instant);
            }
            let probability = self.sampler.probability_at(instant);
            for trace_id in candidates {
                let decision = rate_decision(probability, &trace_id);
                self.decisions.insert(trace_id.clone(), decision);
                decided.insert(trace_id, decision);
            }
        }

        let mut stats = FilterStats::default();
        for decision in decided.values() {
            if decision.is_keep() {
                stats.kept_traces += 1;
            } else {
                stats.dropped_traces += 1;
            }
        }
        let keep = |span: &Span| decided.get(&span.trace_id).is_none_or(Decision::is_keep);
        for resource_spans in &mut request.resource_spans {
            for scope_spans in &mut resource_spans.scope_spans {
                let before = scope_spans.spans.len();
                scope_spans.spans.retain(keep);
                stats.dropped_spans += (before - scope_spans.spans.len()) as u64;
            }
            resource_spans.scope_spans.retain(|ss| !ss.spans.is_empty());
        }
        request
            .resource_spans
            .retain(|rs| !rs.scope_spans.is_empty());
        (request, stats)
    }

    /// `now` on the meter's clock.
    fn instant_of(&self, now: SystemTime) -> Instant {
        let since = now.duration_since(self.anchor.1).unwrap_or_default();
        self.anchor.0.checked_add(since).unwrap_or(self.anchor.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{SpanKind, TraceId};
    use opentelemetry_proto::tonic::trace::v1::status;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};
    use opentelemetry_proto::transform::common::tonic::Attributes;
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
    use std::time::UNIX_EPOCH;

    const T0_MS: u64 = 1_700_000_000_000;

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(T0_MS)
    }

    fn at(offset_ms: u64) -> SystemTime {
        t0() + Duration::from_millis(offset_ms)
    }

    /// A span of `trace`, from `start_ms` to `end_ms` after T0.
    fn span(trace: u128, id: u64, start_ms: u64, end_ms: u64, attrs: Vec<KeyValue>) -> Span {
        Span {
            trace_id: trace.to_be_bytes().to_vec(),
            span_id: id.to_be_bytes().to_vec(),
            name: format!("span {id}"),
            start_time_unix_nano: (T0_MS + start_ms) * 1_000_000,
            end_time_unix_nano: (T0_MS + end_ms) * 1_000_000,
            attributes: Attributes::from(attrs).0,
            ..Span::default()
        }
    }

    fn error(mut span: Span) -> Span {
        span.status = Some(Status {
            message: "boom".into(),
            code: status::StatusCode::Error as i32,
        });
        span
    }

    /// One resource entry per group of spans.
    fn request(groups: Vec<Vec<Span>>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: groups
                .into_iter()
                .map(|spans| ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans,
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                })
                .collect(),
        }
    }

    fn span_ids(request: &ExportTraceServiceRequest) -> Vec<u64> {
        crate::otlp::spans(request)
            .map(|s| u64::from_be_bytes(s.span_id.as_slice().try_into().unwrap()))
            .collect()
    }

    fn no_outcome(_: &str) -> Option<InvocationOutcome> {
        None
    }

    /// Rules that keep nothing by rate, so only the other rules keep.
    fn rules_only() -> TailSampler {
        TailSampler::new(SamplingMode::Decide, Duration::from_millis(1000), 0.0).starting_at(t0())
    }

    /// Reproducible pseudo-random trace ids (splitmix64).
    fn trace_ids(count: usize) -> Vec<u128> {
        let mut numbers = faas_testkit::SplitMix64::new(0x1234_5678_9ABC_DEF0);
        (0..count).map(|_| numbers.next_u128()).collect()
    }

    /// The SDK's own `TraceIdRatioBased` decision, the reference the rate part must match.
    fn sdk_keeps(probability: f64, trace: u128) -> bool {
        Sampler::TraceIdRatioBased(probability)
            .should_sample(
                None,
                TraceId::from(trace),
                "",
                &SpanKind::Internal,
                &[],
                &[],
            )
            .decision
            == SamplingDecision::RecordAndSample
    }

    #[test]
    fn error_status_keeps_the_whole_trace_and_fast_ok_traces_are_dropped() {
        let mut rules = rules_only();
        let req = request(vec![vec![
            span(1, 11, 0, 10, vec![]),
            error(span(1, 12, 1, 5, vec![])),
            span(2, 21, 0, 10, vec![]),
            span(2, 22, 1, 5, vec![]),
        ]]);
        let (kept, stats) = rules.filter(req, &no_outcome, at(0));
        assert_eq!(span_ids(&kept), [11, 12]);
        assert_eq!(
            stats,
            FilterStats {
                kept_traces: 1,
                dropped_traces: 1,
                dropped_spans: 2
            }
        );
        assert_eq!(
            rules.decision(&1u128.to_be_bytes()),
            Some(Decision::Keep(KeepReason::ErrorStatus))
        );
        assert_eq!(rules.decision(&2u128.to_be_bytes()), Some(Decision::Drop));
    }

    #[test]
    fn failed_or_timed_out_invocations_are_kept_through_outcome_of() {
        let mut rules = rules_only();
        let outcome_of = |id: &str| match id {
            "req-timeout" => Some(InvocationOutcome::Timeout),
            "req-error" => Some(InvocationOutcome::Error),
            "req-ok" => Some(InvocationOutcome::Success),
            _ => None,
        };
        let invocation = |trace, id| {
            span(
                trace,
                trace as u64 * 10,
                0,
                10,
                vec![KeyValue::new("faas.invocation_id", id)],
            )
        };
        let req = request(vec![vec![
            invocation(1, "req-timeout"),
            span(1, 11, 2, 3, vec![]),
            invocation(2, "req-error"),
            invocation(3, "req-ok"),
            invocation(4, "req-unknown"),
        ]]);
        let (kept, stats) = rules.filter(req, &outcome_of, at(0));
        assert_eq!(span_ids(&kept), [10, 11, 20]);
        assert_eq!((stats.kept_traces, stats.dropped_traces), (2, 2));
        assert_eq!(
            rules.decision(&1u128.to_be_bytes()),
            Some(Decision::Keep(KeepReason::FailedInvocation))
        );
    }

    #[test]
    fn cold_starts_are_kept() {
        let mut rules = rules_only();
        let req = request(vec![vec![
            span(1, 10, 0, 10, vec![KeyValue::new("faas.coldstart", true)]),
            span(2, 20, 0, 10, vec![KeyValue::new("faas.coldstart", false)]),
            span(3, 30, 0, 10, vec![KeyValue::new("faas.coldstart", "true")]),
        ]]);
        let (kept, _) = rules.filter(req, &no_outcome, at(0));
        assert_eq!(span_ids(&kept), [10]);
        assert_eq!(
            rules.decision(&1u128.to_be_bytes()),
            Some(Decision::Keep(KeepReason::ColdStart))
        );
    }

    #[test]
    fn slow_traces_are_kept_from_the_extent_of_their_spans() {
        let mut rules = rules_only();
        let req = request(vec![vec![
            // Exactly the threshold: kept.
            span(1, 10, 0, 1000, vec![]),
            // 999 ms: dropped.
            span(2, 20, 0, 999, vec![]),
            // Two short spans 1.2 s apart: the trace covers 1200 ms, kept.
            span(3, 30, 0, 100, vec![]),
            span(3, 31, 1100, 1200, vec![]),
        ]]);
        let (kept, stats) = rules.filter(req, &no_outcome, at(2000));
        assert_eq!(span_ids(&kept), [10, 30, 31]);
        assert_eq!(stats.dropped_spans, 1);
        assert_eq!(
            rules.decision(&3u128.to_be_bytes()),
            Some(Decision::Keep(KeepReason::Slow))
        );
    }

    #[test]
    fn traces_are_kept_or_dropped_whole_across_resource_entries() {
        let mut rules = rules_only();
        let req = request(vec![
            vec![span(1, 10, 0, 10, vec![]), span(2, 20, 0, 10, vec![])],
            vec![
                span(1, 11, 0, 10, vec![]),
                error(span(2, 21, 0, 10, vec![])),
            ],
            vec![span(1, 12, 0, 10, vec![])],
        ]);
        let (kept, stats) = rules.filter(req, &no_outcome, at(0));
        assert_eq!(span_ids(&kept), [20, 21]);
        // The entry left with no span is removed.
        assert_eq!(kept.resource_spans.len(), 2);
        assert_eq!(
            stats,
            FilterStats {
                kept_traces: 1,
                dropped_traces: 1,
                dropped_spans: 3
            }
        );
    }

    #[test]
    fn decisions_are_remembered_across_requests() {
        let mut rules = rules_only();
        let first = request(vec![vec![
            span(1, 10, 0, 10, vec![]),
            span(2, 20, 0, 10, vec![KeyValue::new("faas.coldstart", true)]),
        ]]);
        let (kept, _) = rules.filter(first, &no_outcome, at(0));
        assert_eq!(span_ids(&kept), [20]);
        // Later spans of trace 1 are dropped even with an error; later fast spans of the kept
        // trace 2 are kept although the rate keeps nothing.
        let second = request(vec![vec![
            error(span(1, 11, 20, 30, vec![])),
            span(2, 21, 20, 30, vec![]),
        ]]);
        let (kept, stats) = rules.filter(second, &no_outcome, at(100));
        assert_eq!(span_ids(&kept), [21]);
        assert_eq!((stats.kept_traces, stats.dropped_traces), (1, 1));
    }

    #[test]
    fn rate_part_spread_over_one_second_matches_the_algorithm_exactly() {
        // 100 fast traces, one per request, 10 ms apart (all within the meter's first second),
        // at a target of 10 per second. Within the first second the meter divides by one
        // second, so the k-th trace sees a rate of k per second: probability min(1, 10 / k).
        let ids = trace_ids(100);
        let mut rules =
            TailSampler::new(SamplingMode::Decide, Duration::from_secs(1), 10.0).starting_at(t0());
        let mut kept = 0;
        let mut expected = 0;
        for (i, id) in ids.iter().enumerate() {
            let req = request(vec![vec![span(*id, i as u64, 0, 5, vec![])]]);
            let (out, stats) = rules.filter(req, &no_outcome, at(i as u64 * 10));
            assert_eq!(stats.kept_traces + stats.dropped_traces, 1);
            kept += span_ids(&out).len();
            let k = (i + 1) as f64;
            expected += usize::from(sdk_keeps((10.0 / k).min(1.0), *id));
        }
        assert_eq!(kept, expected);
        // The first ten are always kept; of the 90 others, about 10 × ln(10) ≈ 23 are.
        assert!((10..=50).contains(&kept), "kept {kept}");
    }

    #[test]
    fn rate_part_in_one_request_uses_one_probability() {
        // 100 new fast traces at once: measured 100 per second, target 10: probability 0.1.
        let ids = trace_ids(100);
        let mut rules =
            TailSampler::new(SamplingMode::Decide, Duration::from_secs(1), 10.0).starting_at(t0());
        let req = request(vec![
            ids.iter()
                .enumerate()
                .map(|(i, id)| span(*id, i as u64, 0, 5, vec![]))
                .collect(),
        ]);
        let (out, stats) = rules.filter(req, &no_outcome, at(500));
        let expected: Vec<u64> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| sdk_keeps(0.1, **id))
            .map(|(i, _)| i as u64)
            .collect();
        assert_eq!(span_ids(&out), expected);
        assert_eq!(stats.kept_traces, expected.len() as u64);
        assert_eq!(stats.dropped_traces, 100 - expected.len() as u64);
        assert!((2..=25).contains(&expected.len()), "{}", expected.len());
        // Two extensions with the same settings and traffic agree on every trace.
        let mut other =
            TailSampler::new(SamplingMode::Decide, Duration::from_secs(1), 10.0).starting_at(t0());
        let again = request(vec![
            ids.iter()
                .enumerate()
                .map(|(i, id)| span(*id, i as u64, 0, 5, vec![]))
                .collect(),
        ]);
        assert_eq!(
            span_ids(&other.filter(again, &no_outcome, at(500)).0),
            expected
        );
    }

    #[test]
    fn below_the_target_every_trace_is_kept() {
        let ids = trace_ids(20);
        let mut rules =
            TailSampler::new(SamplingMode::Decide, Duration::from_secs(1), 10.0).starting_at(t0());
        for (i, id) in ids.iter().enumerate() {
            // 5 per second for 4 s.
            let req = request(vec![vec![span(*id, i as u64, 0, 5, vec![])]]);
            let (_, stats) = rules.filter(req, &no_outcome, at(i as u64 * 200));
            assert_eq!(stats.kept_traces, 1, "trace {i}");
        }
    }

    #[test]
    fn mode_all_keeps_everything_unchanged() {
        let mut rules = TailSampler::new(SamplingMode::All, Duration::from_secs(1), 0.0);
        assert!(!rules.is_enabled());
        let req = request(vec![vec![
            span(1, 10, 0, 1, vec![]),
            span(1, 11, 0, 1, vec![]),
            span(2, 20, 0, 1, vec![]),
        ]]);
        let (out, stats) = rules.filter(req.clone(), &no_outcome, at(0));
        assert_eq!(out, req);
        assert_eq!(
            stats,
            FilterStats {
                kept_traces: 2,
                dropped_traces: 0,
                dropped_spans: 0
            }
        );
        assert_eq!(rules.decision(&1u128.to_be_bytes()), None);
    }

    #[test]
    fn configuration_from_the_environment() {
        let defaults = TailSampler::from_env(&Env::from_pairs([("X", "1")])).unwrap();
        assert_eq!(defaults.mode(), SamplingMode::All);
        assert_eq!(
            defaults.slow_threshold(),
            Duration::from_millis(DEFAULT_SLOW_MS)
        );
        assert_eq!(defaults.rate_per_second(), DEFAULT_RATE);
        let set = TailSampler::from_env(&Env::from_pairs([
            (MODE_VAR, " Decide "),
            (SLOW_MS_VAR, "250"),
            (RATE_VAR, "0.5"),
        ]))
        .unwrap();
        assert!(set.is_enabled());
        assert_eq!(set.slow_threshold(), Duration::from_millis(250));
        assert_eq!(set.rate_per_second(), 0.5);
        for (variable, value) in [
            (MODE_VAR, "some"),
            (SLOW_MS_VAR, "-1"),
            (SLOW_MS_VAR, "1.5"),
            (RATE_VAR, "-0.1"),
            (RATE_VAR, "inf"),
            (RATE_VAR, "NaN"),
            (RATE_VAR, "fast"),
        ] {
            let err = TailSampler::from_env(&Env::from_pairs([(variable, value)])).unwrap_err();
            assert_eq!(err.variable, variable);
            assert_eq!(err.value, value);
        }
    }
}
