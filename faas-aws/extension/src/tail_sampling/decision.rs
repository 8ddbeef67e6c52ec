//! What tail sampling decides: [`Decision`], [`KeepReason`], [`FilterStats`].

/// Why a trace was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum KeepReason {
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
pub(crate) enum Decision {
    /// Kept, and why.
    Keep(KeepReason),
    /// Dropped by the rate part.
    Drop,
}

impl Decision {
    /// Whether the trace is kept.
    pub(crate) fn is_keep(&self) -> bool {
        matches!(self, Self::Keep(_))
    }
}

/// What one [`TailSampler::filter`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FilterStats {
    /// Distinct traces of the request that were kept.
    pub(crate) kept_traces: u64,
    /// Distinct traces of the request that were dropped.
    pub(crate) dropped_traces: u64,
    /// Spans dropped with them.
    pub(crate) dropped_spans: u64,
}
