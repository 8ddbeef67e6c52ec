//! A request handler that never finishes, for tests of a bounded graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A request that never finishes: route [`Hanging::handler`], wait with [`Hanging::reached`]
/// until a request is inside it, and check with [`Hanging::finished`] that none ever ended (a
/// server whose shutdown is bounded abandons it).
#[derive(Clone, Debug, Default)]
pub struct Hanging {
    reached: Arc<Notify>,
    finished: Arc<AtomicBool>,
}

impl Hanging {
    /// A handler no request has reached yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The handler, for axum's `get` or any router taking a `Fn() -> Future`: it wakes
    /// [`Hanging::reached`], then waits forever; were it ever to end, it would record that
    /// (see [`Hanging::finished`]) and answer `never`.
    pub fn handler(
        &self,
    ) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = &'static str> + Send>>
    + Clone
    + Send
    + Sync
    + 'static {
        let hanging = self.clone();
        move || {
            let hanging = hanging.clone();
            Box::pin(async move {
                hanging.reached.notify_one();
                std::future::pending::<()>().await;
                hanging.finished.store(true, Ordering::SeqCst);
                "never"
            })
        }
    }

    /// Waits until a request is inside the handler (returns at once if one got there first).
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Whether a request ever finished in the handler.
    pub fn finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}
