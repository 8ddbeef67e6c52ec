//! The threads that answer the emulator's requests, reused from one request to the next.
//!
//! A request may block its thread for long (the `next` long polls), so the pool never makes a
//! request wait for a thread: it goes to an idle thread, or to a new one when every thread is
//! busy. Starting a thread per request cost the emulator a `clone`, a stack and a thread exit
//! for every call of the Runtime and Extensions APIs, on the same cores as the function it
//! measures; a reused thread costs one wake-up.
//!
//! The pool ends with its owner: dropping [`Workers`] drops the idle threads' channels (they
//! return), and a busy thread returns once its request is answered.

use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, Weak};

/// One request's work.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The idle threads, each by the channel it takes its next job from.
type Idle = Mutex<Vec<Sender<Job>>>;

/// A pool of reusable threads that grows to the number of requests in progress at once.
pub(crate) struct Workers {
    idle: Arc<Idle>,
}

impl Workers {
    /// An empty pool: its first job starts its first thread.
    pub(crate) fn new() -> Self {
        Self {
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Runs `job` on an idle thread, or on a new one when none is idle.
    pub(crate) fn run(&self, mut job: Job) {
        loop {
            let next = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(worker) = next else { break };
            // A thread that has returned leaves a closed channel: try the next one.
            match worker.send(job) {
                Ok(()) => return,
                Err(returned) => job = returned.0,
            }
        }
        let idle = Arc::downgrade(&self.idle);
        std::thread::spawn(move || work(job, &idle));
    }
}

/// A worker thread: runs `job`, then offers itself as idle with a fresh channel (which only the
/// pool holds the sending end of) and runs what comes, until the pool is gone.
fn work(mut job: Job, idle: &Weak<Idle>) {
    loop {
        job();
        let Some(pool) = idle.upgrade() else { return };
        let (sender, jobs) = channel();
        pool.lock().unwrap_or_else(|p| p.into_inner()).push(sender);
        drop(pool);
        match jobs.recv() {
            Ok(next) => job = next,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn thread_id(workers: &Workers) -> std::thread::ThreadId {
        let (tx, rx) = channel();
        workers.run(Box::new(move || {
            let _ = tx.send(std::thread::current().id());
        }));
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    #[test]
    fn a_thread_is_reused_once_its_job_is_done() {
        let workers = Workers::new();
        let first = thread_id(&workers);
        // The worker offers itself as idle right after its job: wait until it has.
        while workers.idle.lock().unwrap().is_empty() {
            std::thread::yield_now();
        }
        assert_eq!(thread_id(&workers), first);
        assert_ne!(first, std::thread::current().id());
    }

    #[test]
    fn a_blocked_job_never_holds_up_the_next() {
        let workers = Workers::new();
        let started = Arc::new(AtomicUsize::new(0));
        let (saw, seen) = channel();
        // Three jobs that each wait (10 s at most) until all three are running at once, which
        // only three threads can do.
        for _ in 0..3 {
            let (started, saw) = (started.clone(), saw.clone());
            workers.run(Box::new(move || {
                started.fetch_add(1, Ordering::SeqCst);
                let until = std::time::Instant::now() + Duration::from_secs(10);
                while started.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < until {
                    std::thread::yield_now();
                }
                let _ = saw.send(started.load(Ordering::SeqCst));
            }));
        }
        for _ in 0..3 {
            assert_eq!(seen.recv_timeout(Duration::from_secs(20)), Ok(3));
        }
    }

    #[test]
    fn the_threads_return_when_the_pool_is_dropped() {
        thread_local! {
            // Dropped when its thread returns, which closes the test's channel.
            static ALIVE: std::cell::RefCell<Option<Sender<()>>> = const { std::cell::RefCell::new(None) };
        }
        let workers = Workers::new();
        let (alive, gone) = channel::<()>();
        workers.run(Box::new(move || {
            ALIVE.with(|a| *a.borrow_mut() = Some(alive))
        }));
        while workers.idle.lock().unwrap().is_empty() {
            std::thread::yield_now();
        }
        drop(workers);
        assert_eq!(
            gone.recv_timeout(Duration::from_secs(10)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
    }
}
