//! One timer for every invocation's watchdog: a sorted map of due times and one tokio task per
//! pipeline that sleeps until the earliest, so that arming and disarming a watchdog is a short
//! lock and a map insert / remove (no task, no timer registration per invocation).
//!
//! The task is spawned on the runtime of the first arming and ends when nothing is armed
//! (it is spawned again by the next arming), so nothing lingers after the last invocation. A
//! watchdog that comes due hands its target ([`Expire`]) to a task of its own, so that one
//! slow flush never delays another invocation's watchdog.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::Notify;
use tokio::time::Instant;

/// What a watchdog does when it comes due.
pub(crate) trait Expire: Send + Sync + 'static {
    /// The work of a watchdog that fired (ending the invocation, flushing).
    fn expire(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

type Key = (Instant, u64);

/// The armed watchdogs of one pipeline.
#[derive(Default)]
pub(crate) struct Timers {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timers")
            .field("armed", &self.inner.lock().due.len())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    /// Wakes the task when a new earliest due time was armed.
    earlier: Notify,
}

#[derive(Default)]
struct State {
    due: BTreeMap<Key, Weak<dyn Expire>>,
    next_id: u64,
    running: bool,
    /// When the running task wakes by itself (`None`: it is about to look at `due`).
    sleeping_until: Option<Instant>,
    /// How many times the task looked at `due`.
    #[cfg(test)]
    rounds: u64,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// An armed watchdog; dropping it disarms it.
#[derive(Debug)]
pub(crate) struct Armed {
    key: Key,
    timers: Weak<Inner>,
}

impl Drop for Armed {
    fn drop(&mut self) {
        if let Some(inner) = self.timers.upgrade() {
            inner.lock().due.remove(&self.key);
        }
    }
}

impl Timers {
    /// Arms a watchdog: at `at`, `target.expire()` runs (if `target` is still alive and the
    /// returned [`Armed`] was not dropped). `None` outside a tokio runtime.
    pub(crate) fn arm(&self, at: Instant, target: Weak<dyn Expire>) -> Option<Armed> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let mut state = self.inner.lock();
        let key = (at, state.next_id);
        state.next_id = state.next_id.wrapping_add(1);
        // Wake the task only when it would sleep past this due time. Sequential invocations
        // arm ever later deadlines after disarming the previous one: the task, asleep until
        // the old deadline, wakes once then instead of at every invocation (a wake-up of
        // another thread, on the invocation's path).
        let earliest = state.sleeping_until.is_none_or(|until| at < until);
        state.due.insert(key, target);
        let start = !state.running;
        state.running = true;
        drop(state);
        if start {
            drop(runtime.spawn(drive(Arc::downgrade(&self.inner))));
        } else if earliest {
            self.inner.earlier.notify_one();
        }
        Some(Armed {
            key,
            timers: Arc::downgrade(&self.inner),
        })
    }
}

/// The timer task: fires what is due, sleeps until the next due time (or an earlier arming),
/// ends when nothing is armed.
async fn drive(timers: Weak<Inner>) {
    loop {
        let Some(inner) = timers.upgrade() else {
            return;
        };
        let now = Instant::now();
        let (fired, next) = {
            let mut state = inner.lock();
            let later = state.due.split_off(&(now, u64::MAX));
            let fired = std::mem::replace(&mut state.due, later);
            let next = state.due.first_key_value().map(|((at, _), _)| *at);
            if next.is_none() {
                state.running = false;
            }
            state.sleeping_until = next;
            #[cfg(test)]
            {
                state.rounds = state.rounds.wrapping_add(1);
            }
            (fired, next)
        };
        for target in fired.into_values() {
            if let Some(target) = target.upgrade() {
                drop(tokio::spawn(target.expire()));
            }
        }
        let Some(next) = next else {
            return;
        };
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = inner.earlier.notified() => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Expire for Count {
        fn expire(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            Box::pin(async move {
                self.0.fetch_add(1, Ordering::SeqCst);
            })
        }
    }

    fn fired(count: &Count) -> usize {
        count.0.load(Ordering::SeqCst)
    }

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fires_at_its_time_in_order_and_not_when_disarmed() {
        let timers = Timers::default();
        let (a, b, c) = (
            Arc::new(Count::default()),
            Arc::new(Count::default()),
            Arc::new(Count::default()),
        );
        let start = Instant::now();
        let weak = |t: &Arc<Count>| Arc::downgrade(t) as Weak<dyn Expire>;
        let _a = timers
            .arm(start + Duration::from_secs(5), weak(&a))
            .unwrap();
        // An earlier arming wakes the task that sleeps until 5 s.
        let _b = timers
            .arm(start + Duration::from_secs(2), weak(&b))
            .unwrap();
        let disarmed = timers
            .arm(start + Duration::from_secs(3), weak(&c))
            .unwrap();
        drop(disarmed);
        tokio::time::sleep(Duration::from_millis(1999)).await;
        settle().await;
        assert_eq!((fired(&a), fired(&b), fired(&c)), (0, 0, 0));
        tokio::time::sleep(Duration::from_millis(2)).await;
        settle().await;
        assert_eq!((fired(&a), fired(&b), fired(&c)), (0, 1, 0));
        tokio::time::sleep(Duration::from_secs(10)).await;
        settle().await;
        assert_eq!((fired(&a), fired(&b), fired(&c)), (1, 1, 0));
        assert!(
            !timers.inner.lock().running,
            "the task ends when nothing is armed"
        );
        // And starts again for the next arming.
        let _again = timers
            .arm(Instant::now() + Duration::from_secs(1), weak(&c))
            .unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        settle().await;
        assert_eq!(fired(&c), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn later_armings_do_not_wake_the_task_and_still_fire() {
        let timers = Timers::default();
        let (early, last) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let start = Instant::now();
        let weak = |t: &Arc<Count>| Arc::downgrade(t) as Weak<dyn Expire>;
        // The first arming starts the task, which sleeps until 5 s.
        let first = timers.arm(start + Duration::from_secs(5), weak(&early));
        settle().await;
        assert_eq!(timers.inner.lock().rounds, 1);
        drop(first);
        // Invocation after invocation: disarmed, then a later deadline armed.
        for later in 6..10 {
            drop(timers.arm(start + Duration::from_secs(later), weak(&early)));
            settle().await;
        }
        let kept = timers
            .arm(start + Duration::from_secs(10), weak(&last))
            .unwrap();
        settle().await;
        assert_eq!(timers.inner.lock().rounds, 1, "no arming woke the task");
        // At 5 s it wakes once, finds nothing due, and sleeps until 10 s.
        tokio::time::sleep(Duration::from_secs(5)).await;
        settle().await;
        assert_eq!(timers.inner.lock().rounds, 2);
        assert_eq!((fired(&early), fired(&last)), (0, 0));
        tokio::time::sleep(Duration::from_secs(5)).await;
        settle().await;
        assert_eq!((fired(&early), fired(&last)), (0, 1));
        drop(kept);
        // An earlier arming than the task's sleep still wakes it.
        let _soon = timers
            .arm(Instant::now() + Duration::from_secs(1), weak(&early))
            .unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        settle().await;
        assert_eq!(fired(&early), 1);
    }

    #[test]
    fn nothing_is_armed_outside_a_runtime() {
        let timers = Timers::default();
        let target = Arc::new(Count::default());
        let weak = Arc::downgrade(&target) as Weak<dyn Expire>;
        assert!(timers.arm(Instant::now(), weak).is_none());
    }
}
