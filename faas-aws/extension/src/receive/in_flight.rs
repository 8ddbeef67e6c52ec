//! [`InFlightBytes`]: a budget for the request bodies being read and decoded at the same time,
//! so that concurrent requests cannot hold more memory than the budget before their data is
//! in the buffer (whose cap counts it from then on). A request that would exceed it is answered
//! `503` with `Retry-After`, as OTLP/HTTP specifies for a server that is temporarily
//! overloaded, and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The seconds a refused client is asked to wait (`Retry-After`).
pub(crate) const RETRY_AFTER_SECONDS: u64 = 1;

/// The budget and what is reserved of it.
#[derive(Debug)]
pub(crate) struct InFlightBytes {
    budget: usize,
    used: AtomicUsize,
    refused: AtomicU64,
}

impl InFlightBytes {
    /// A budget of `budget` bytes.
    pub(crate) fn new(budget: usize) -> Arc<Self> {
        Arc::new(Self {
            budget,
            used: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// The budget for a receiver with these limits: a quarter of the memory cap, and at least
    /// what one largest request can need (its gzip body and the body inflated, both up to
    /// `max_body`, and a step of the inflater).
    pub(crate) fn budget_for(memory_limit: usize, max_body: usize) -> usize {
        (memory_limit / 4).max(max_body.saturating_mul(2).saturating_add(1 << 20))
    }

    #[cfg(test)]
    /// Bytes reserved now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    #[cfg(test)]
    /// Requests refused since start.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    fn try_add(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(n).filter(|total| *total <= self.budget)
            })
            .is_ok()
    }

    /// An empty reservation, grown as the body is read.
    pub(crate) fn reservation(self: &Arc<Self>) -> Reservation {
        Reservation {
            owner: self.clone(),
            bytes: 0,
        }
    }

    /// Counts a refused request and logs the first and every thousandth.
    fn count_refused(&self) {
        let n = self
            .refused
            .fetch_add(1, Ordering::SeqCst)
            .saturating_add(1);
        if n == 1 || n.is_multiple_of(1000) {
            eprintln!(
                "faas-otel-extension: {n} OTLP request(s) refused with 503: {} bytes of request bodies already in flight",
                self.budget
            );
        }
    }
}

/// Bytes reserved by one request, given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    owner: Arc<InFlightBytes>,
    bytes: usize,
}

impl Reservation {
    /// Makes the reservation at least `total` bytes; `false` (and the request counted as
    /// refused) when the budget does not allow it.
    pub(crate) fn grow_to(&mut self, total: usize) -> bool {
        let more = total.saturating_sub(self.bytes);
        if more == 0 {
            return true;
        }
        if self.owner.try_add(more) {
            self.bytes = total;
            true
        } else {
            self.owner.count_refused();
            false
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.owner.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stay_within_the_budget_and_give_back_on_drop() {
        let budget = InFlightBytes::new(100);
        let mut a = budget.reservation();
        let mut b = budget.reservation();
        assert!(a.grow_to(60));
        assert!(a.grow_to(40), "already reserved");
        assert!(!b.grow_to(41));
        assert_eq!(budget.refused(), 1);
        assert!(b.grow_to(40));
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        assert!(!b.grow_to(usize::MAX));
        drop(b);
        assert_eq!((budget.used(), budget.refused()), (0, 2));
        assert_eq!(InFlightBytes::budget_for(64 << 20, 4 << 20), 16 << 20);
        assert_eq!(InFlightBytes::budget_for(1 << 20, 4 << 20), 9 << 20);
    }
}
