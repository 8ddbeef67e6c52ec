//! The runtime's loop as a task of its own on a tokio worker thread.
//!
//! `#[tokio::main]` polls the future it is given on the main thread, outside the worker pool,
//! while a worker owns the I/O driver. Every answer of the Runtime API and of the collector
//! then arrives at a worker and is handed to the main thread: a futex wake-up and two context
//! switches per readiness event, each costing tens of microseconds when it wakes an idle vCPU.
//! As a task, the loop is polled by the worker that received the event. Measured with
//! `billed_alone` (`xtask/src/bench/billed.rs`), `bench-faas` exporting to an instant
//! collector: 11.8 → 3.6 context switches and 426 → 282 µs of CPU per invocation.
//!
//! On a `current_thread` runtime the task runs on its one thread, as the loop did before.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

/// `future` as a task of its own (on a worker thread of a multi-thread runtime). Must be
/// called inside a tokio runtime.
pub(crate) fn on_worker<F>(future: F) -> OnWorker<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    OnWorker(tokio::spawn(future))
}

/// See [`on_worker`]. Its output is the future's; a panic in the task is resumed where this is
/// awaited. Dropping it cancels the task; [`OnWorker::cancel`] also waits until it is gone.
pub(crate) struct OnWorker<T>(JoinHandle<T>);

impl<T> OnWorker<T> {
    /// Cancels the task and returns once its future has been dropped, so that nothing of it
    /// runs afterwards (the shutdown that follows owns the telemetry alone).
    pub(crate) async fn cancel(&mut self) {
        self.0.abort();
        // Cancelled, finished or panicked: either way it no longer runs.
        let _ = (&mut self.0).await;
    }
}

impl<T> Future for OnWorker<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match std::task::ready!(Pin::new(&mut self.0).poll(cx)) {
            Ok(output) => Poll::Ready(output),
            Err(err) => match err.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                // Only `abort` cancels the task, and only `cancel` and `drop` call it.
                Err(err) => panic!("the runtime's task was cancelled: {err}"),
            },
        }
    }
}

impl<T> Drop for OnWorker<T> {
    fn drop(&mut self) {
        // A no-op once the task has finished.
        self.0.abort();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::{self, ThreadId};

    /// Sets its flag when dropped.
    struct DropFlag(Arc<AtomicBool>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn current() -> ThreadId {
        thread::current().id()
    }

    #[test]
    fn on_a_multi_thread_runtime_the_loop_runs_on_a_worker() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let (caller, ran_on) =
            runtime.block_on(async { (current(), on_worker(async { current() }).await) });
        assert_eq!(caller, current(), "block_on polls on the calling thread");
        assert_ne!(ran_on, caller);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn on_a_current_thread_runtime_the_loop_runs_in_place() {
        assert_eq!(on_worker(async { current() }).await, current());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancel_returns_once_the_loop_is_dropped() {
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(dropped.clone());
        let mut serving = on_worker(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        });
        tokio::task::yield_now().await;
        serving.cancel().await;
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_it_cancels_the_loop() {
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(dropped.clone());
        drop(on_worker(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        }));
        for _ in 0..1000 {
            if dropped.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("the task was not cancelled within 5 s");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_the_loop_reaches_the_caller() {
        let outcome = tokio::spawn(on_worker(async {
            panic!("in the loop");
        }))
        .await;
        let panic = outcome.unwrap_err().into_panic();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"in the loop"));
    }
}
