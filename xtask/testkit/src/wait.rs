//! Bounded waits: poll a condition until it holds or a bound passes.

use std::fmt;
use std::time::{Duration, Instant};

/// The default bound of the test kit's waits: generous, only so that a broken program fails
/// a test instead of hanging it (never a threshold a test measures against).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// How often the waits poll.
pub(crate) const POLL: Duration = Duration::from_millis(2);

/// A wait that ran out of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout {
    /// What was waited for, and what was seen instead when the waiter knows it.
    pub what: String,
    /// The bound that passed.
    pub after: Duration,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for {}",
            self.after, self.what
        )
    }
}

impl std::error::Error for Timeout {}

/// Polls `check` (blocking the thread between polls) until it returns `Some`, at most
/// `bound`.
pub fn wait_until<T>(
    what: &str,
    bound: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, Timeout> {
    let until = Instant::now() + bound;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() >= until {
            return Err(Timeout {
                what: what.to_owned(),
                after: bound,
            });
        }
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`] for async tests: sleeps with tokio between polls, so the test's runtime
/// keeps running the code under test.
#[cfg(feature = "server")]
pub async fn wait_until_async<T>(
    what: &str,
    bound: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, Timeout> {
    let until = Instant::now() + bound;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() >= until {
            return Err(Timeout {
                what: what.to_owned(),
                after: bound,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
