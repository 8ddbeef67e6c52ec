//! [`ExportPace`]: when to export, after every invocation or periodically at high rates.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The window over which the invocation rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// When to export: after every invocation, or at most every interval when invocations come
/// fast (with hysteresis: on above the threshold, off below half of it).
#[derive(Debug, Default)]
pub(crate) struct ExportPace {
    recent: VecDeque<Instant>,
    periodic: bool,
    last_export: Option<Instant>,
}

impl ExportPace {
    /// Counts an invocation at `now`; switches periodic mode on above `threshold` invocations
    /// per second, off below half of it.
    pub(crate) fn invoked(&mut self, now: Instant, threshold: f64) {
        self.recent.push_back(now);
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        let rate = self.recent.len() as f64 / RATE_WINDOW.as_secs_f64();
        if !self.periodic && rate > threshold {
            self.periodic = true;
            eprintln!("faas-otel-extension: {rate:.1} invocations/s: exporting periodically");
        } else if self.periodic && rate < threshold / 2.0 {
            self.periodic = false;
            eprintln!(
                "faas-otel-extension: {rate:.1} invocations/s: exporting after every invocation"
            );
        }
    }

    /// Whether periodic mode is on.
    pub(crate) fn is_periodic(&self) -> bool {
        self.periodic
    }

    /// Whether an export is due at `now`: always outside periodic mode, else once `interval`
    /// passed since the last one.
    pub(crate) fn due(&self, now: Instant, interval: Duration) -> bool {
        !self.periodic
            || self
                .last_export
                .is_none_or(|last| now.duration_since(last) >= interval)
    }

    /// Notes an export that just ended.
    pub(crate) fn exported(&mut self, at: Instant) {
        self.last_export = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_above_the_threshold_and_back_below_half() {
        let mut pace = ExportPace::default();
        let start = Instant::now();
        for i in 0..=20 {
            pace.invoked(start + Duration::from_millis(i * 100), 2.0);
        }
        assert!(pace.is_periodic());
        pace.exported(start + Duration::from_secs(2));
        assert!(!pace.due(start + Duration::from_millis(2500), Duration::from_secs(1)));
        assert!(pace.due(start + Duration::from_secs(3), Duration::from_secs(1)));
        // One invocation 30 s later: 0.1 per second, below half of 2.
        pace.invoked(start + Duration::from_secs(30), 2.0);
        assert!(!pace.is_periodic());
        assert!(pace.due(start + Duration::from_secs(30), Duration::from_secs(1)));
    }
}
