//! [`deadline_of`]: the platform's deadlines as [`Instant`]s, with a margin kept back.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept back from the platform's deadlines.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);

/// The platform deadline (`deadlineMs`, Unix milliseconds) minus [`DEADLINE_MARGIN`] as an
/// [`Instant`], or `None` when it is not plausible (in the past, as emulators send, or more
/// than a day ahead).
pub(crate) fn deadline_of(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis();
    let ahead = u128::from(deadline_ms).checked_sub(now_ms)?;
    let ahead = u64::try_from(ahead).ok().filter(|ms| *ms <= 86_400_000)?;
    let deadline = Instant::now().checked_add(Duration::from_millis(ahead))?;
    Some(deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    #[test]
    fn implausible_deadlines_are_none() {
        assert!(deadline_of(0).is_none());
        assert!(deadline_of(now_ms() + 2 * 86_400_000).is_none());
        assert!(deadline_of(u64::MAX).is_none());
        let soon = deadline_of(now_ms() + 1000).expect("plausible");
        let left = soon.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_millis(950) && left >= Duration::from_millis(800));
    }
}
