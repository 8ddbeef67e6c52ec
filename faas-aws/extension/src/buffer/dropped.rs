//! [`Dropped`]: items dropped, per signal.

/// Items dropped because the cap was reached, per signal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Dropped {
    /// Spans.
    pub(crate) spans: u64,
    /// Metric data points.
    pub(crate) points: u64,
    /// Log records.
    pub(crate) records: u64,
}
