//! Keep rules: a tail sampler in the extension, for "record everything in the function, let
//! the extension decide what leaves".
//!
//! With `FAAS_OTEL_EXTENSION_KEEP=decide`, [`KeepRules::filter`] looks at each trace of an
//! OTLP request (all its spans in the request) and keeps it **whole** when any of these holds:
//!
//! 1. a span has status ERROR;
//! 2. a span's `faas.invocation_id` is an invocation the platform reported as an error,
//!    failure or timeout (the `outcome_of` callback, e.g.
//!    [`PlatformTelemetry::outcome`](super::platform_telemetry::PlatformTelemetry::outcome));
//! 3. a span has `faas.coldstart = true`;
//! 4. the trace's spans cover at least the slow threshold (latest end − earliest start,
//!    which is at least the invocation span's duration; `FAAS_OTEL_EXTENSION_KEEP_SLOW_MS`,
//!    default 1000 ms).
//!
//! The other traces are sampled to about `FAAS_OTEL_EXTENSION_KEEP_RATE` traces per second
//! (default 1): each such new trace is counted in a [`RateMeter`] (10 s sliding window, see
//! there), the probability is `min(1, rate / measured rate)` as in faas-core's
//! [`AdaptiveSampler`], computed once per request after counting its new traces, and the
//! decision is the SDK's `TraceIdRatioBased` decision at that probability: a pure function of
//! the trace id. Below the target rate everything is kept.
//!
//! Every decision is remembered per trace id (the last [`REMEMBERED_TRACES`]), so spans of a
//! trace arriving in a later request get the first decision, even if they would now match a
//! rule: traces are kept or dropped whole, never partially.
//!
//! # With head sampling
//!
//! The extension can only keep what reaches it. The function must record and export every
//! trace: `OTEL_TRACES_SAMPLER=parentbased_always_on` (the default) or `always_on`. A trace
//! that a head sampler dropped (a `traceidratio` or `faas_otel_adaptive` sampler, or an
//! unsampled parent under a parent-based one) never reaches the extension, errors included.
//!
//! Each function decides on its own: a downstream function's extension sees only that
//! function's spans. The rate part is deterministic on the trace id, so functions with the same
//! settings agree (a trace kept at probability `p` is kept at any higher probability, so
//! functions under less load keep a superset); the error, outcome, cold-start and slow parts are
//! local to each function, so a trace may be kept for an error in one function and dropped in
//! another.
//!
//! The outcome of an invocation is known from `platform.runtimeDone`, which Lambda sends after
//! the function exported its spans: to use rule 2 for the current invocation, hold its spans
//! until that event (timeouts rarely leave spans otherwise; errors also set status ERROR on the
//! invocation span, which rule 1 catches).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::sampling::{AdaptiveSampler, RateMeter};
use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{Span, status};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
use opentelemetry_semantic_conventions::attribute as attr;

use super::platform_telemetry::{BoundedMap, InvocationOutcome, find_bool, find_str};

/// `all` (default: keep everything) or `decide` (apply the keep rules).
pub const KEEP_VAR: &str = "FAAS_OTEL_EXTENSION_KEEP";
/// Traces covering at least this many milliseconds are kept (default [`DEFAULT_SLOW_MS`]).
pub const KEEP_SLOW_MS_VAR: &str = "FAAS_OTEL_EXTENSION_KEEP_SLOW_MS";
/// Target traces per second kept among the others (default [`DEFAULT_RATE`]).
pub const KEEP_RATE_VAR: &str = "FAAS_OTEL_EXTENSION_KEEP_RATE";
/// Default of [`KEEP_SLOW_MS_VAR`].
pub const DEFAULT_SLOW_MS: u64 = 1000;
/// Default of [`KEEP_RATE_VAR`].
pub const DEFAULT_RATE: f64 = 1.0;
/// How many trace decisions are remembered.
pub const REMEMBERED_TRACES: usize = 4096;

/// What [`KeepRules`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepMode {
    /// Keep everything (`all`).
    #[default]
    All,
    /// Apply the keep rules (`decide`).
    Decide,
}

/// Why a trace was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeepReason {
    /// A span had status ERROR.
    ErrorStatus,
    /// An invocation of the trace failed or timed out, as the platform reported.
    FailedInvocation,
    /// A span had `faas.coldstart = true`.
    ColdStart,
    /// The trace reached the slow threshold.
    Slow,
    /// Sampled in by the rate part (or its trace id could not be sampled).
    Rate,
}

/// The decision taken for one trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeepDecision {
    /// Kept, and why.
    Keep(KeepReason),
    /// Dropped by the rate part.
    Drop,
}

impl KeepDecision {
    /// Whether the trace is kept.
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep(_))
    }
}

/// What one [`KeepRules::filter`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeepStats {
    /// Distinct traces of the request that were kept.
    pub kept_traces: u64,
    /// Distinct traces of the request that were dropped.
    pub dropped_traces: u64,
    /// Spans dropped with them.
    pub dropped_spans: u64,
}

/// The keep rules; see the [module documentation](self).
#[derive(Debug)]
pub struct KeepRules {
    mode: KeepMode,
    slow: Duration,
    sampler: AdaptiveSampler,
    anchor: (Instant, SystemTime),
    decisions: BoundedMap<Vec<u8>, KeepDecision>,
}

impl KeepRules {
    /// Reads [`KEEP_VAR`] (`all` or `decide`, any case), [`KEEP_SLOW_MS_VAR`] (whole
    /// milliseconds) and [`KEEP_RATE_VAR`] (a finite number ≥ 0 of traces per second). A bad
    /// value is an error naming the variable, the value and what is accepted.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mode = match env.get(KEEP_VAR) {
            None => KeepMode::All,
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "all" => KeepMode::All,
                "decide" => KeepMode::Decide,
                _ => {
                    return Err(ConfigError::new(
                        KEEP_VAR,
                        raw,
                        "expected `all` (keep everything) or `decide` (apply the keep rules)",
                    ));
                }
            },
        };
        let slow_ms = match env.get(KEEP_SLOW_MS_VAR) {
            None => DEFAULT_SLOW_MS,
            Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
                ConfigError::new(
                    KEEP_SLOW_MS_VAR,
                    raw.clone(),
                    "expected a whole, non-negative number of milliseconds",
                )
            })?,
        };
        let rate = match env.get(KEEP_RATE_VAR) {
            None => DEFAULT_RATE,
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(rate) if rate.is_finite() && rate >= 0.0 => rate,
                _ => {
                    return Err(ConfigError::new(
                        KEEP_RATE_VAR,
                        raw,
                        "expected a finite, non-negative number of traces per second",
                    ));
                }
            },
        };
        Ok(Self::new(mode, Duration::from_millis(slow_ms), rate))
    }

    /// Rules in `mode`, keeping traces of at least `slow` and about `rate_per_second` others;
    /// the rate is measured from now.
    pub fn new(mode: KeepMode, slow: Duration, rate_per_second: f64) -> Self {
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

    /// Measures the rate from `start` instead of now (the `now` given to
    /// [`filter`](Self::filter) is read against it), forgetting what was measured.
    pub fn starting_at(mut self, start: SystemTime) -> Self {
        let instant = Instant::now();
        self.anchor = (instant, start);
        self.sampler = AdaptiveSampler::with_meter(
            self.sampler.target_per_second(),
            Arc::new(RateMeter::starting_at(instant)),
        );
        self
    }

    /// Whether the rules apply (`decide`); `all` keeps everything.
    pub fn is_enabled(&self) -> bool {
        self.mode == KeepMode::Decide
    }

    /// The mode.
    pub fn mode(&self) -> KeepMode {
        self.mode
    }

    /// The slow threshold.
    pub fn slow_threshold(&self) -> Duration {
        self.slow
    }

    /// The target traces per second of the rate part.
    pub fn rate_per_second(&self) -> f64 {
        self.sampler.target_per_second()
    }

    /// The decision remembered for `trace_id`, if any.
    pub fn decision(&self, trace_id: &[u8]) -> Option<KeepDecision> {
        self.decisions.get(trace_id).copied()
    }

    /// Keeps or drops each trace of `request` whole, as of `now`; see the
    /// [module documentation](self). With `all`, returns the request unchanged (every trace
    /// counted as kept). Empty scope and resource entries left by dropped spans are removed.
    pub fn filter(
        &mut self,
        mut request: ExportTraceServiceRequest,
        outcome_of: &dyn Fn(&str) -> Option<InvocationOutcome>,
        now: SystemTime,
    ) -> (ExportTraceServiceRequest, KeepStats) {
        let traces = summarize(&request, outcome_of);
        if !self.is_enabled() {
            let stats = KeepStats {
                kept_traces: traces.order.len() as u64,
                ..KeepStats::default()
            };
            return (request, stats);
        }

        let mut decided: HashMap<Vec<u8>, KeepDecision> = HashMap::new();
        let mut candidates = Vec::new();
        for trace_id in &traces.order {
            let summary = &traces.by_id[trace_id];
            if let Some(decision) = self.decision(trace_id) {
                decided.insert(trace_id.clone(), decision);
            } else if let Some(reason) = summary
                .reason
                .or_else(|| (summary.extent() >= self.slow).then_some(KeepReason::Slow))
            {
                decided.insert(trace_id.clone(), KeepDecision::Keep(reason));
                self.decisions
                    .insert(trace_id.clone(), KeepDecision::Keep(reason));
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
            let ratio = Sampler::TraceIdRatioBased(probability);
            for trace_id in candidates {
                let decision = match <[u8; 16]>::try_from(trace_id.as_slice()) {
                    Ok(bytes) => {
                        let result = ratio.should_sample(
                            None,
                            TraceId::from_bytes(bytes),
                            "",
                            &SpanKind::Internal,
                            &[],
                            &[],
                        );
                        if result.decision == SamplingDecision::RecordAndSample {
                            KeepDecision::Keep(KeepReason::Rate)
                        } else {
                            KeepDecision::Drop
                        }
                    }
                    // Not a valid trace id: nothing to decide on, so keep it.
                    Err(_) => KeepDecision::Keep(KeepReason::Rate),
                };
                self.decisions.insert(trace_id.clone(), decision);
                decided.insert(trace_id, decision);
            }
        }

        let mut stats = KeepStats::default();
        for decision in decided.values() {
            if decision.is_keep() {
                stats.kept_traces += 1;
            } else {
                stats.dropped_traces += 1;
            }
        }
        let keep = |span: &Span| {
            decided
                .get(&span.trace_id)
                .is_none_or(KeepDecision::is_keep)
        };
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

/// What the spans of one trace in a request show.
#[derive(Debug, Clone, Copy)]
struct TraceSummary {
    reason: Option<KeepReason>,
    earliest_start: u64,
    latest_end: u64,
}

impl TraceSummary {
    /// Latest end − earliest start.
    fn extent(&self) -> Duration {
        Duration::from_nanos(self.latest_end.saturating_sub(self.earliest_start))
    }
}

#[derive(Debug, Default)]
struct Traces {
    order: Vec<Vec<u8>>,
    by_id: HashMap<Vec<u8>, TraceSummary>,
}

fn summarize(
    request: &ExportTraceServiceRequest,
    outcome_of: &dyn Fn(&str) -> Option<InvocationOutcome>,
) -> Traces {
    let mut traces = Traces::default();
    let spans = request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans);
    for span in spans {
        let reason = keep_reason(span, outcome_of);
        match traces.by_id.entry(span.trace_id.clone()) {
            Entry::Vacant(entry) => {
                traces.order.push(span.trace_id.clone());
                entry.insert(TraceSummary {
                    reason,
                    earliest_start: span.start_time_unix_nano,
                    latest_end: span.end_time_unix_nano,
                });
            }
            Entry::Occupied(mut entry) => {
                let summary = entry.get_mut();
                summary.reason = summary.reason.or(reason);
                summary.earliest_start = summary.earliest_start.min(span.start_time_unix_nano);
                summary.latest_end = summary.latest_end.max(span.end_time_unix_nano);
            }
        }
    }
    traces
}

/// The rule (1 to 3) `span` alone satisfies, if any.
fn keep_reason(
    span: &Span,
    outcome_of: &dyn Fn(&str) -> Option<InvocationOutcome>,
) -> Option<KeepReason> {
    if span
        .status
        .as_ref()
        .is_some_and(|s| s.code == status::StatusCode::Error as i32)
    {
        return Some(KeepReason::ErrorStatus);
    }
    if let Some(id) = find_str(&span.attributes, attr::FAAS_INVOCATION_ID)
        && matches!(
            outcome_of(id),
            Some(InvocationOutcome::Error | InvocationOutcome::Timeout)
        )
    {
        return Some(KeepReason::FailedInvocation);
    }
    if find_bool(&span.attributes, attr::FAAS_COLDSTART) == Some(true) {
        return Some(KeepReason::ColdStart);
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};
    use opentelemetry_proto::transform::common::tonic::Attributes;
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
        request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| u64::from_be_bytes(s.span_id.as_slice().try_into().unwrap()))
            .collect()
    }

    fn no_outcome(_: &str) -> Option<InvocationOutcome> {
        None
    }

    /// Rules that keep nothing by rate, so only the other rules keep.
    fn rules_only() -> KeepRules {
        KeepRules::new(KeepMode::Decide, Duration::from_millis(1000), 0.0).starting_at(t0())
    }

    /// Reproducible pseudo-random trace ids (splitmix64).
    fn trace_ids(count: usize) -> Vec<u128> {
        let mut state: u64 = 0x1234_5678_9ABC_DEF0;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..count)
            .map(|_| (u128::from(next()) << 64) | u128::from(next()))
            .collect()
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
            KeepStats {
                kept_traces: 1,
                dropped_traces: 1,
                dropped_spans: 2
            }
        );
        assert_eq!(
            rules.decision(&1u128.to_be_bytes()),
            Some(KeepDecision::Keep(KeepReason::ErrorStatus))
        );
        assert_eq!(
            rules.decision(&2u128.to_be_bytes()),
            Some(KeepDecision::Drop)
        );
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
            Some(KeepDecision::Keep(KeepReason::FailedInvocation))
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
            Some(KeepDecision::Keep(KeepReason::ColdStart))
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
            Some(KeepDecision::Keep(KeepReason::Slow))
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
            KeepStats {
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
            KeepRules::new(KeepMode::Decide, Duration::from_secs(1), 10.0).starting_at(t0());
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
            KeepRules::new(KeepMode::Decide, Duration::from_secs(1), 10.0).starting_at(t0());
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
            KeepRules::new(KeepMode::Decide, Duration::from_secs(1), 10.0).starting_at(t0());
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
            KeepRules::new(KeepMode::Decide, Duration::from_secs(1), 10.0).starting_at(t0());
        for (i, id) in ids.iter().enumerate() {
            // 5 per second for 4 s.
            let req = request(vec![vec![span(*id, i as u64, 0, 5, vec![])]]);
            let (_, stats) = rules.filter(req, &no_outcome, at(i as u64 * 200));
            assert_eq!(stats.kept_traces, 1, "trace {i}");
        }
    }

    #[test]
    fn mode_all_keeps_everything_unchanged() {
        let mut rules = KeepRules::new(KeepMode::All, Duration::from_secs(1), 0.0);
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
            KeepStats {
                kept_traces: 2,
                dropped_traces: 0,
                dropped_spans: 0
            }
        );
        assert_eq!(rules.decision(&1u128.to_be_bytes()), None);
    }

    #[test]
    fn configuration_from_the_environment() {
        let defaults = KeepRules::from_env(&Env::from_pairs([("X", "1")])).unwrap();
        assert_eq!(defaults.mode(), KeepMode::All);
        assert_eq!(
            defaults.slow_threshold(),
            Duration::from_millis(DEFAULT_SLOW_MS)
        );
        assert_eq!(defaults.rate_per_second(), DEFAULT_RATE);
        let set = KeepRules::from_env(&Env::from_pairs([
            (KEEP_VAR, " Decide "),
            (KEEP_SLOW_MS_VAR, "250"),
            (KEEP_RATE_VAR, "0.5"),
        ]))
        .unwrap();
        assert!(set.is_enabled());
        assert_eq!(set.slow_threshold(), Duration::from_millis(250));
        assert_eq!(set.rate_per_second(), 0.5);
        for (variable, value) in [
            (KEEP_VAR, "some"),
            (KEEP_SLOW_MS_VAR, "-1"),
            (KEEP_SLOW_MS_VAR, "1.5"),
            (KEEP_RATE_VAR, "-0.1"),
            (KEEP_RATE_VAR, "inf"),
            (KEEP_RATE_VAR, "NaN"),
            (KEEP_RATE_VAR, "fast"),
        ] {
            let err = KeepRules::from_env(&Env::from_pairs([(variable, value)])).unwrap_err();
            assert_eq!(err.variable, variable);
            assert_eq!(err.value, value);
        }
    }
}
