//! A server task under test with the shutdown signal it was given, stopped within a bound.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::{JoinError, JoinHandle};

use crate::wait::Timeout;

/// The shutdown signal [`Serving::spawn`] hands to the server: resolves once
/// [`Serving::stop`] is called (or the [`Serving`] is dropped).
#[derive(Debug)]
pub struct ShutdownSignal(oneshot::Receiver<()>);

impl Future for ShutdownSignal {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// A server future (a `serve_on(listener, router)` with its shutdown signal) spawned on the
/// current tokio runtime, which the test stops.
#[derive(Debug)]
pub struct Serving<T> {
    stop: oneshot::Sender<()>,
    task: JoinHandle<T>,
}

impl<T: Send + 'static> Serving<T> {
    /// Spawns `serve(signal)` on the current tokio runtime (call it inside one); `signal`
    /// resolves when [`Serving::stop`] is called.
    pub fn spawn<F>(serve: impl FnOnce(ShutdownSignal) -> F) -> Self
    where
        F: Future<Output = T> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(ShutdownSignal(stopped)));
        Self { stop, task }
    }

    /// Sends the shutdown signal and waits at most `bound` for the server to return; what it
    /// returned, or why not.
    pub async fn stop(self, bound: Duration) -> Result<T, StopError> {
        self.stop
            .send(())
            .map_err(|()| StopError::AlreadyReturned)?;
        match tokio::time::timeout(bound, self.task).await {
            Ok(joined) => joined.map_err(StopError::Join),
            Err(_) => Err(StopError::Timeout(Timeout {
                what: "the server to return after its shutdown signal".to_owned(),
                after: bound,
            })),
        }
    }
}

/// Why [`Serving::stop`] has no output of the server.
#[derive(Debug)]
pub enum StopError {
    /// The server had returned (or dropped its signal) before the signal was sent: it should
    /// still have been serving.
    AlreadyReturned,
    /// It did not return within the bound after the signal.
    Timeout(Timeout),
    /// Its task panicked or was cancelled.
    Join(JoinError),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn stop_returns_what_the_server_returned_after_its_signal() {
        let serving = Serving::spawn(|signal| async move {
            signal.await;
            7
        });
        assert_eq!(serving.stop(Duration::from_secs(60)).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_server_that_ignores_the_signal_times_out() {
        let serving = Serving::spawn(|signal| async move {
            let _held = signal;
            std::future::pending::<()>().await;
        });
        let error = serving.stop(Duration::from_millis(10)).await.unwrap_err();
        assert!(
            matches!(&error, StopError::Timeout(t) if t.after == Duration::from_millis(10)),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_server_that_returned_before_the_signal_is_reported() {
        let serving = Serving::spawn(|_signal| async {});
        tokio::time::timeout(Duration::from_secs(60), async {
            while !serving.task.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        let error = serving.stop(Duration::from_secs(60)).await.unwrap_err();
        assert!(matches!(error, StopError::AlreadyReturned), "{error:?}");
    }
}
