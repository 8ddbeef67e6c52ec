//! [`lock`]: a mutex lock that survives poisoning.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, recovering the data if a panicking holder poisoned it: the extension must keep
/// forwarding even after a bug in one request's handling.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
