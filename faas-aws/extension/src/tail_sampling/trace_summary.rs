//! [`summarize`]: what the spans of each trace in a request show the tail sampler.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{Span, status};
use opentelemetry_semantic_conventions::attribute as attr;

use crate::otlp::{self, find_bool, find_str};
use crate::platform_events::InvocationOutcome;

use super::decision::KeepReason;

/// What the spans of one trace in a request show.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TraceSummary {
    pub(crate) reason: Option<KeepReason>,
    earliest_start: u64,
    latest_end: u64,
}

impl TraceSummary {
    /// Latest end − earliest start.
    pub(crate) fn extent(&self) -> Duration {
        Duration::from_nanos(self.latest_end.saturating_sub(self.earliest_start))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Traces {
    pub(crate) order: Vec<Vec<u8>>,
    pub(crate) by_id: HashMap<Vec<u8>, TraceSummary>,
}

pub(crate) fn summarize(
    request: &ExportTraceServiceRequest,
    outcome_of: &dyn Fn(&str) -> Option<InvocationOutcome>,
) -> Traces {
    let mut traces = Traces::default();
    for span in otlp::spans(request) {
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
