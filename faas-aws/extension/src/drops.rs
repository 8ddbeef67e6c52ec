//! [`Drops`]: every item the extension did not deliver, per signal and reason, counted once
//! and reported upstream (the self-metric `faas_otel.extension.dropped`) once.
//!
//! The memory cap's drops are counted by the buffer itself (reason [`DropReason::MemoryCap`]);
//! everything else is counted here: what the upstream refused (a 4xx, a `partial_success`,
//! a batch too large even alone), what tail sampling left out, and what the platform dropped
//! (`platform.logsDropped`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::lock::lock;

/// The kind of item counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Signal {
    /// Spans.
    Spans,
    /// Metric data points.
    MetricPoints,
    /// Log records.
    LogRecords,
}

impl Signal {
    /// The value of the self-metric's `signal` attribute.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Spans => "spans",
            Self::MetricPoints => "metric_points",
            Self::LogRecords => "log_records",
        }
    }
}

/// Why items were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DropReason {
    /// Over the memory cap (`FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES`).
    MemoryCap,
    /// The upstream refused the request with a status that cannot succeed on retry (a 4xx
    /// other than 408/429, a redirect, which is never followed).
    Rejected,
    /// The upstream accepted the request but rejected these items (`partial_success`).
    PartialSuccess,
    /// `413` for a batch that cannot be split further (one item, or the split depth reached).
    TooLarge,
    /// Left out by tail sampling (`FAAS_OTEL_EXTENSION_KEEP=decide`).
    TailSampling,
    /// Dropped by the Lambda platform before they reached the extension
    /// (`platform.logsDropped`). The function-logs source counts them with the memory cap's
    /// for now (through the buffer); this is the reason to count them under.
    #[allow(dead_code)]
    Platform,
}

impl DropReason {
    /// The value of the self-metric's `faas_otel.drop_reason` attribute.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::MemoryCap => "memory_cap",
            Self::Rejected => "rejected",
            Self::PartialSuccess => "partial_success",
            Self::TooLarge => "too_large",
            Self::TailSampling => "tail_sampling",
            Self::Platform => "platform",
        }
    }
}

/// Drop counts not yet reported upstream.
#[derive(Debug, Default)]
pub(crate) struct Drops {
    counts: Mutex<BTreeMap<(Signal, DropReason), u64>>,
}

impl Drops {
    /// Counts `n` items of `signal` dropped for `reason` (saturating; zero is a no-op).
    pub(crate) fn add(&self, signal: Signal, reason: DropReason, n: u64) {
        if n == 0 {
            return;
        }
        let mut counts = lock(&self.counts);
        let count = counts.entry((signal, reason)).or_default();
        *count = count.saturating_add(n);
    }

    /// The counts not yet reported, reset to zero (give them back with [`Self::unreport`]
    /// when the report did not reach the upstream).
    pub(crate) fn take_unreported(&self) -> Vec<(Signal, DropReason, u64)> {
        let mut counts = lock(&self.counts);
        counts
            .iter_mut()
            .filter(|(_, n)| **n > 0)
            .map(|((signal, reason), n)| (*signal, *reason, std::mem::take(n)))
            .collect()
    }

    /// Puts counts taken with [`Self::take_unreported`] back, to report them later.
    pub(crate) fn unreport(&self, taken: &[(Signal, DropReason, u64)]) {
        let mut counts = lock(&self.counts);
        for (signal, reason, n) in taken {
            let count = counts.entry((*signal, *reason)).or_default();
            *count = count.saturating_add(*n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_reported_once_and_can_be_given_back() {
        let drops = Drops::default();
        drops.add(Signal::Spans, DropReason::PartialSuccess, 3);
        drops.add(Signal::Spans, DropReason::PartialSuccess, 2);
        drops.add(Signal::LogRecords, DropReason::Platform, 0);
        drops.add(Signal::LogRecords, DropReason::Platform, u64::MAX);
        drops.add(Signal::LogRecords, DropReason::Platform, 1);
        let taken = drops.take_unreported();
        assert_eq!(
            taken,
            vec![
                (Signal::Spans, DropReason::PartialSuccess, 5),
                (Signal::LogRecords, DropReason::Platform, u64::MAX),
            ]
        );
        assert!(drops.take_unreported().is_empty());
        drops.unreport(&taken);
        assert_eq!(drops.take_unreported(), taken);
    }
}
