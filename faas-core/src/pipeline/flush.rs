//! What a flush may spend and what it reports.

use std::time::{Duration, SystemTime};

/// The least a flush is given when the invocation's deadline is close, so that a deadline
/// a few milliseconds away still exports what it can instead of skipping the export.
pub const MIN_FLUSH_BUDGET: Duration = Duration::from_millis(10);

/// Kept free before the invocation's deadline, so the runtime can still ask for the next event.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(10);

/// A deadline further away than this is not believed (no platform runs an invocation for a
/// day); it is ignored, as is a deadline already in the past (some emulators send a 1970 date).
pub const MAX_PLAUSIBLE_REMAINING: Duration = Duration::from_secs(24 * 3600);

/// The time a flush may take: the configured `budget`, capped by the time left before the
/// invocation's `deadline` (less [`DEADLINE_MARGIN`]), never below [`MIN_FLUSH_BUDGET`] (or
/// `budget` itself when smaller). A deadline that is already past or implausibly far is
/// ignored: it must not turn into "skip the export".
pub fn effective_budget(
    budget: Duration,
    deadline: Option<SystemTime>,
    now: SystemTime,
) -> Duration {
    let Some(deadline) = deadline else {
        return budget;
    };
    match deadline.duration_since(now) {
        Ok(remaining) if remaining <= MAX_PLAUSIBLE_REMAINING => budget
            .min(remaining.saturating_sub(DEADLINE_MARGIN))
            .max(MIN_FLUSH_BUDGET.min(budget)),
        _ => budget,
    }
}

/// What one flush did.
///
/// Every span the pipeline loses is counted in the `dropped_spans` of exactly one report (and
/// in the `faas_otel.spans.dropped` metric), whichever invocation's flush sees it first; a
/// span that waits for a later flush (`requeued_spans`, `deferred_spans`) is not lost.
/// The struct is `#[non_exhaustive]`: read its fields, build it with `Default`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushReport {
    /// Spans the collector accepted.
    pub exported_spans: u64,
    /// Spans lost since the previous report: the queue was full (the oldest went first), or
    /// the collector rejected the batch for good (an answer OTLP says must not be retried).
    pub dropped_spans: u64,
    /// Spans whose export failed transiently or ran out of budget, put back at the front of
    /// the queue to leave with a later flush.
    pub requeued_spans: u64,
    /// Spans left in the queue without an attempt: the exporter is backing off after a
    /// failure, or another flush held the exporter for this flush's whole budget.
    pub deferred_spans: u64,
    /// OTLP log records the collector accepted (`OTEL_LOGS_EXPORTER=otlp`).
    pub exported_logs: u64,
    /// Log records lost since the previous report (queue full, or rejected for good).
    pub dropped_logs: u64,
    /// Log records put back at the front of their queue after a transient failure or a stall.
    pub requeued_logs: u64,
    /// Log records left queued without an attempt (back-off, or no budget left).
    pub deferred_logs: u64,
    /// Whether the budget ran out before the collector answered.
    pub timed_out: bool,
    /// Whether another flush was exporting when this one started (this one waited for it).
    pub waited_for_in_flight: bool,
    /// When the exporter is backing off after this flush: how long until it tries again.
    pub backoff: Option<Duration>,
    /// Whether metrics were exported in this flush.
    pub metrics_exported: bool,
    /// The export error, when there was one.
    pub error: Option<String>,
    /// The budget the flush was given.
    pub budget: Duration,
    /// How long it took.
    pub elapsed: Duration,
}

impl FlushReport {
    /// Whether everything queued reached the collector.
    pub fn is_complete(&self) -> bool {
        self.dropped_spans == 0
            && self.requeued_spans == 0
            && self.deferred_spans == 0
            && self.dropped_logs == 0
            && self.requeued_logs == 0
            && self.deferred_logs == 0
            && self.error.is_none()
            && !self.timed_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_table() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let b = Duration::from_millis(250);
        let ms = Duration::from_millis;
        let cases: &[(&str, Option<SystemTime>, Duration)] = &[
            ("no deadline", None, b),
            ("far deadline", Some(now + Duration::from_secs(60)), b),
            ("close deadline caps", Some(now + ms(110)), ms(100)),
            (
                "very close keeps the minimum",
                Some(now + ms(12)),
                MIN_FLUSH_BUDGET,
            ),
            (
                "deadline now keeps the minimum",
                Some(now),
                MIN_FLUSH_BUDGET,
            ),
            (
                "past deadline (1970) is ignored",
                Some(SystemTime::UNIX_EPOCH + ms(600_000)),
                b,
            ),
            (
                "absurd future is ignored",
                Some(now + Duration::from_secs(400 * 24 * 3600)),
                b,
            ),
        ];
        for (name, deadline, expected) in cases {
            assert_eq!(effective_budget(b, *deadline, now), *expected, "{name}");
        }
        assert_eq!(
            effective_budget(ms(5), Some(now + ms(1)), now),
            ms(5),
            "a budget below the minimum is kept"
        );
    }
}
