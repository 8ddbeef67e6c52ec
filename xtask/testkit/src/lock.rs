//! Locking that survives a poisoned mutex (a panicking test thread must not hide what the
//! fakes recorded).

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the data even if another thread panicked holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
