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

/// The bound of one wait: what is waited for and when it gives up.
struct Deadline<'a> {
    what: &'a str,
    bound: Duration,
    until: Instant,
}

impl<'a> Deadline<'a> {
    fn new(what: &'a str, bound: Duration) -> Self {
        Self {
            what,
            bound,
            until: Instant::now() + bound,
        }
    }

    /// The end of the wait after a poll that saw `seen`: the value, a timeout once the
    /// bound passed, or `None` to poll again.
    fn settle<T>(&self, seen: Option<T>) -> Option<Result<T, Timeout>> {
        match seen {
            Some(value) => Some(Ok(value)),
            None if Instant::now() >= self.until => Some(Err(Timeout {
                what: self.what.to_owned(),
                after: self.bound,
            })),
            None => None,
        }
    }
}

/// Polls `check` (blocking the thread between polls) until it returns `Some`, at most
/// `bound`.
pub fn wait_until<T>(
    what: &str,
    bound: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, Timeout> {
    let deadline = Deadline::new(what, bound);
    loop {
        if let Some(done) = deadline.settle(check()) {
            return done;
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
    let deadline = Deadline::new(what, bound);
    loop {
        if let Some(done) = deadline.settle(check()) {
            return done;
        }
        tokio::time::sleep(POLL).await;
    }
}
