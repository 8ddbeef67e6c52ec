//! One sequence shared by several fakes: the order in which things happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A shared, monotonically increasing counter. Clones share the count: hand the same
/// `Sequence` to several fakes (and tick it in the test) and compare the numbers they record
/// to check what happened before what, without comparing wall-clock times.
#[derive(Debug, Clone, Default)]
pub struct Sequence(Arc<AtomicU64>);

impl Sequence {
    /// A new sequence; its first number is 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next number.
    pub fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The last number handed out (0 before the first tick).
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// The shared counter, to number from it elsewhere (`fetch_add(1) + 1`).
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.0.clone()
    }
}

/// Numbers from an existing counter, so a fake that keeps an `Arc<AtomicU64>` and the test
/// kit's fakes share one sequence.
impl From<Arc<AtomicU64>> for Sequence {
    fn from(counter: Arc<AtomicU64>) -> Self {
        Self(counter)
    }
}
