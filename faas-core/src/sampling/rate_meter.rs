//! Events per second over a sliding window.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Number of one-second buckets in a [`RateMeter`]'s window.
pub const WINDOW_BUCKETS: usize = 10;

/// Measures how many events per second happened recently.
///
/// The window is [`WINDOW_BUCKETS`] (10) buckets of one second each, aligned on whole seconds
/// since the meter was created. The rate counts the events of the current second and of the
/// previous nine, divided by the time those buckets cover (between 9 and 10 s once the meter
/// is older than the window; the meter's age before that, but at least one second, so a single
/// early event does not read as a burst). Events older than the window are forgotten.
///
/// Thread-safe: a short critical section behind a [`Mutex`] (a poisoned lock is recovered, never
/// propagated). The `*_at` methods take the current time as an argument so tests can drive the
/// clock; [`record`](Self::record) and [`rate_per_second`](Self::rate_per_second) use
/// [`Instant::now`].
///
/// In a serverless function each instance has its own meter, so the rate is the rate this
/// instance sees, not the function's total. While the instance is frozen between invocations
/// nothing is recorded, which reads as a quiet period, as it is.
#[derive(Debug)]
pub struct RateMeter {
    start: Instant,
    buckets: Mutex<[Bucket; WINDOW_BUCKETS]>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Whole seconds since `start` this bucket counts; only meaningful when `count > 0`.
    second: u64,
    count: u64,
}

impl Default for RateMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateMeter {
    /// A meter whose window starts now.
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// A meter whose window starts at `start` (for tests with an injected clock).
    pub fn starting_at(start: Instant) -> Self {
        Self {
            start,
            buckets: Mutex::new([Bucket::default(); WINDOW_BUCKETS]),
        }
    }

    /// Records one event now.
    pub fn record(&self) {
        self.record_at(Instant::now());
    }

    /// Records one event at `now`. Times before the meter's start count as its start; an event
    /// older than the window relative to newer events already recorded is ignored.
    pub fn record_at(&self, now: Instant) {
        let second = self.second_of(now);
        let index = bucket_index(second);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = &mut buckets[index];
        if bucket.count == 0 || bucket.second < second {
            *bucket = Bucket { second, count: 1 };
        } else if bucket.second == second {
            bucket.count = bucket.count.saturating_add(1);
        }
    }

    /// Events per second over the window, now.
    pub fn rate_per_second(&self) -> f64 {
        self.rate_at(Instant::now())
    }

    /// Events per second over the window ending at `now`.
    pub fn rate_at(&self, now: Instant) -> f64 {
        self.count_at(now) as f64 / self.covered_seconds(now)
    }

    /// Number of events in the window ending at `now`.
    pub fn count_at(&self, now: Instant) -> u64 {
        let current = self.second_of(now);
        let oldest = current.saturating_sub(WINDOW_BUCKETS as u64 - 1);
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        buckets
            .iter()
            .filter(|b| b.count > 0 && (oldest..=current).contains(&b.second))
            .fold(0u64, |sum, b| sum.saturating_add(b.count))
    }

    /// Seconds covered by the buckets counted at `now`: at least 1.
    fn covered_seconds(&self, now: Instant) -> f64 {
        let age = now.saturating_duration_since(self.start);
        let into_current_second = f64::from(age.subsec_nanos()) / 1e9;
        let full_window = (WINDOW_BUCKETS - 1) as f64 + into_current_second;
        age.as_secs_f64().min(full_window).max(1.0)
    }

    fn second_of(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.start).as_secs()
    }
}

fn bucket_index(second: u64) -> usize {
    (second % WINDOW_BUCKETS as u64) as usize
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 1e-9
    }

    #[test]
    fn steady_rate_is_measured_exactly() {
        let t0 = Instant::now();
        let meter = RateMeter::starting_at(t0);
        // 20 events per second for 30 s, evenly spread.
        for i in 0..600u64 {
            meter.record_at(t0 + Duration::from_millis(i * 50));
        }
        // At t = 30 s the window holds seconds 21..=30; second 30 is empty so far and
        // seconds 21..=29 hold 20 each: 180 events over 9 s.
        let now = t0 + Duration::from_secs(30);
        assert_eq!(meter.count_at(now), 180);
        assert!(close(meter.rate_at(now), 20.0));
        // Half a second later nothing new: 180 events over 9.5 s.
        let later = now + Duration::from_millis(500);
        assert!(close(meter.rate_at(later), 180.0 / 9.5));
    }

    #[test]
    fn young_meter_divides_by_its_age_but_at_least_one_second() {
        let t0 = Instant::now();
        let meter = RateMeter::starting_at(t0);
        meter.record_at(t0 + Duration::from_millis(10));
        assert!(close(meter.rate_at(t0 + Duration::from_millis(10)), 1.0));
        for _ in 0..9 {
            meter.record_at(t0 + Duration::from_millis(1500));
        }
        // 10 events after 2.5 s.
        assert!(close(meter.rate_at(t0 + Duration::from_millis(2500)), 4.0));
    }

    #[test]
    fn old_events_leave_the_window() {
        let t0 = Instant::now();
        let meter = RateMeter::starting_at(t0);
        for _ in 0..100 {
            meter.record_at(t0 + Duration::from_millis(200));
        }
        assert_eq!(meter.count_at(t0 + Duration::from_secs(9)), 100);
        assert_eq!(meter.count_at(t0 + Duration::from_secs(10)), 0);
        assert_eq!(meter.rate_at(t0 + Duration::from_secs(60)), 0.0);
        // A bucket reused after a full turn starts from zero.
        meter.record_at(t0 + Duration::from_millis(10_200));
        assert_eq!(meter.count_at(t0 + Duration::from_millis(10_300)), 1);
        // An event too old for the reused bucket is ignored; times before start count as start.
        meter.record_at(t0 + Duration::from_millis(200));
        assert_eq!(meter.count_at(t0 + Duration::from_millis(10_300)), 1);
        let early = RateMeter::starting_at(t0 + Duration::from_secs(5));
        early.record_at(t0);
        assert_eq!(early.count_at(t0 + Duration::from_secs(5)), 1);
    }

    #[test]
    fn concurrent_records_are_all_counted() {
        let meter = Arc::new(RateMeter::new());
        let now = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let meter = Arc::clone(&meter);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        meter.record_at(now);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(meter.count_at(now), 4000);
        assert!(meter.rate_per_second() > 0.0);
    }
}
