//! A decorator that always records cold-start invocations.

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

use super::decision::{is_cold_start, parent_trace_state};

/// Wraps a sampler so that a span created with `faas.coldstart = true` is always sampled.
///
/// For such a span the decision is `RecordAndSample` with the parent's trace state (empty
/// without a parent), **even when the parent is not sampled**: the initialization is this
/// function's own cost and the rarest, most informative event it has, and it is worth a trace
/// even if the upstream part of it is missing. Every other span is decided by the wrapped
/// sampler.
///
/// The attribute must be among those given when the span is created; attributes set later are
/// never seen by samplers.
///
/// `S` must be a concrete `Clone` sampler (the SDK's `Sampler`, `ParentBasedSampler`, an
/// [`AdaptiveSampler`](super::AdaptiveSampler), ...): a `Box<dyn ShouldSample>` does not itself
/// implement `ShouldSample`, so wrap the sampler before boxing it.
#[derive(Debug, Clone)]
pub struct KeepColdStart<S> {
    inner: S,
}

impl<S> KeepColdStart<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped sampler.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the sampler.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> ShouldSample for KeepColdStart<S>
where
    S: ShouldSample + Clone + 'static,
{
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        if is_cold_start(attributes) {
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state: parent_trace_state(parent_context),
            };
        }
        self.inner
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sampling::test_support::{decide, parent, trace_ids};
    use opentelemetry::trace::TraceState;
    use opentelemetry_sdk::trace::Sampler;
    use opentelemetry_semantic_conventions::attribute::FAAS_COLDSTART;

    #[test]
    fn cold_start_is_kept_even_under_an_unsampled_parent() {
        let sampler = KeepColdStart::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
        let cold = [KeyValue::new(FAAS_COLDSTART, true)];
        let warm = [KeyValue::new(FAAS_COLDSTART, false)];
        let unsampled = parent(false);
        let id = trace_ids(1)[0];

        let result = decide(&sampler, Some(&unsampled), id, &cold);
        assert_eq!(result.decision, SamplingDecision::RecordAndSample);
        assert_eq!(result.trace_state, "k=v".parse::<TraceState>().unwrap());
        let root = decide(&sampler, None, id, &cold);
        assert_eq!(root.decision, SamplingDecision::RecordAndSample);
        assert_eq!(root.trace_state, TraceState::default());

        // Otherwise the inner sampler decides.
        assert_eq!(
            decide(&sampler, Some(&unsampled), id, &warm).decision,
            SamplingDecision::Drop
        );
        assert_eq!(
            decide(&sampler, None, id, &[]).decision,
            SamplingDecision::Drop
        );
        assert_eq!(
            decide(&sampler, Some(&parent(true)), id, &[]).decision,
            SamplingDecision::RecordAndSample
        );
    }
}
