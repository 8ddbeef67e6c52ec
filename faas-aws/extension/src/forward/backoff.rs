//! [`Backoff`]: the delays between two attempts of one upstream request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First retry delay; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest delay without a `Retry-After`.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Exponential backoff from [`FIRST_BACKOFF`] to [`MAX_BACKOFF`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(FIRST_BACKOFF)
    }
}

impl Backoff {
    /// The current delay.
    pub(crate) fn delay(&self) -> Duration {
        self.0
    }

    /// Doubles the delay, up to [`MAX_BACKOFF`].
    pub(crate) fn grow(&mut self) {
        self.0 = self.0.saturating_mul(2).min(MAX_BACKOFF);
    }
}

/// `wait` plus up to 25 % of it, from the clock's low bits. Hand-written: a random number
/// generator crate for one spread of retries would cost more than it brings. Saturates instead
/// of overflowing.
pub(crate) fn jitter(wait: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let extra = (wait / 4000).saturating_mul(nanos % 1000);
    wait.saturating_add(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.delay(), FIRST_BACKOFF);
        backoff.grow();
        assert_eq!(backoff.delay(), FIRST_BACKOFF * 2);
        for _ in 0..20 {
            backoff.grow();
        }
        assert_eq!(backoff.delay(), MAX_BACKOFF);
    }

    #[test]
    fn jitter_adds_at_most_a_quarter_and_never_overflows() {
        let wait = Duration::from_secs(4);
        let jittered = jitter(wait);
        assert!(jittered >= wait && jittered <= wait + Duration::from_secs(1));
        assert!(jitter(Duration::MAX) == Duration::MAX);
    }
}
