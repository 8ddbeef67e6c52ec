//! The deadline a flush puts on its export, seen by the export client.
//!
//! The drain bounds every export by the flush's budget, and the HTTP client bounds every
//! request by `OTEL_EXPORTER_OTLP_TIMEOUT`. Two timers per export; and on tokio's multi-thread
//! runtime, registering a timer that is due before the I/O driver means to wake up wakes the
//! driver's thread to shorten its sleep: one wake-up of another thread per timer, on every
//! invocation's path. The drain runs the export inside [`scope`]; the client skips its own
//! timer when the flush's deadline comes first anyway.

use std::future::Future;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `export` with `deadline` as the flush's deadline.
pub(crate) fn scope<F: Future>(deadline: Instant, export: F) -> impl Future<Output = F::Output> {
    DEADLINE.scope(deadline, export)
}

/// Whether the flush around the current task ends by `by` (so a timer at `by` never fires
/// first). `false` outside [`scope`].
pub(crate) fn ends_by(by: Instant) -> bool {
    DEADLINE
        .try_with(|deadline| *deadline <= by)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn only_an_earlier_flush_deadline_counts() {
        let now = Instant::now();
        let soon = now + Duration::from_millis(250);
        let later = now + Duration::from_secs(10);
        assert!(!ends_by(later), "outside a flush");
        assert!(scope(soon, async { ends_by(later) }).await);
        assert!(scope(soon, async { ends_by(soon) }).await);
        assert!(!scope(later, async { ends_by(soon) }).await);
    }
}
