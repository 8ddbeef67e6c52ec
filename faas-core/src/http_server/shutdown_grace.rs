//! The bound on a graceful shutdown: after the shutdown signal, requests in flight get
//! `FAAS_OTEL_SHUTDOWN_GRACE_MS` to finish; then the server gives up on them, so the telemetry
//! drain (`FAAS_OTEL_SHUTDOWN_TIMEOUT_MS`) still runs before the platform kills the process
//! (Cloud Run sends SIGKILL 10 s after SIGTERM).

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::config::parse_millis;
use crate::env::Env;
use crate::error::ConfigError;

/// How long requests in flight may still run after the shutdown signal, in ms.
pub const SHUTDOWN_GRACE_VAR: &str = "FAAS_OTEL_SHUTDOWN_GRACE_MS";

/// [`SHUTDOWN_GRACE_VAR`]'s default: with the default drain budget (1.5 s) the process is done
/// 6.5 s after SIGTERM, inside Cloud Run's 10 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_millis(5000);

/// [`SHUTDOWN_GRACE_VAR`] from `env`, [`DEFAULT_SHUTDOWN_GRACE`] when unset.
///
/// # Errors
///
/// A [`ConfigError`] naming the variable for a value that is not a whole number of
/// milliseconds up to one hour.
pub fn shutdown_grace(env: &Env) -> Result<Duration, ConfigError> {
    Ok(parse_millis(env, SHUTDOWN_GRACE_VAR)?.unwrap_or(DEFAULT_SHUTDOWN_GRACE))
}

/// How a bounded graceful shutdown ended.
#[derive(Debug)]
pub(crate) enum Stopped<T> {
    /// The server stopped by itself: every request finished (or it failed).
    Finished(T),
    /// The grace ran out after the signal; the requests still in flight were abandoned.
    GaveUp,
}

/// `signal`, which also tells the returned receiver when it resolved: the shutdown future to
/// hand the server, and what [`bounded`] starts the grace on.
pub(crate) fn notifying(
    signal: impl Future<Output = ()> + Send + 'static,
) -> (
    std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    oneshot::Receiver<()>,
) {
    let (signalled, on_signal) = oneshot::channel::<()>();
    let shutdown = Box::pin(async move {
        signal.await;
        let _ = signalled.send(());
    });
    (shutdown, on_signal)
}

/// Runs `server` until it stops, but no longer than `grace` after `on_signal` fired.
pub(crate) async fn bounded<T>(
    server: impl Future<Output = T>,
    on_signal: oneshot::Receiver<()>,
    grace: Duration,
) -> Stopped<T> {
    let give_up = async move {
        match on_signal.await {
            Ok(()) => tokio::time::sleep(grace).await,
            // The shutdown future went away with the server: nothing to bound.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server => Stopped::Finished(served),
        () = give_up => Stopped::GaveUp,
    }
}

/// [`bounded`] over the server `serve` makes with the shutdown future of [`notifying`].
#[cfg(test)]
async fn serve_with_grace<F: Future>(
    signal: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    serve: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
) -> Stopped<F::Output> {
    let (shutdown, on_signal) = notifying(signal);
    bounded(serve(shutdown), on_signal, grace).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn grace_defaults_and_bad_values_are_named() {
        let empty = Env::from_pairs::<&str, &str>([]);
        assert_eq!(shutdown_grace(&empty).unwrap(), DEFAULT_SHUTDOWN_GRACE);
        let env = Env::from_pairs([(SHUTDOWN_GRACE_VAR, "250")]);
        assert_eq!(shutdown_grace(&env).unwrap(), Duration::from_millis(250));
        for bad in ["5s", "-1", "99999999999"] {
            let err = shutdown_grace(&Env::from_pairs([(SHUTDOWN_GRACE_VAR, bad)])).unwrap_err();
            assert_eq!(err.variable, SHUTDOWN_GRACE_VAR);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_never_stops_is_given_up_after_the_grace() {
        let (tx, rx) = oneshot::channel::<()>();
        let signal = async move {
            let _ = rx.await;
        };
        let run = tokio::spawn(serve_with_grace(
            signal,
            Duration::from_secs(5),
            |shutdown| async move {
                shutdown.await;
                // A request that never finishes.
                std::future::pending::<()>().await;
            },
        ));
        tx.send(()).unwrap();
        let started = tokio::time::Instant::now();
        assert!(matches!(run.await.unwrap(), Stopped::GaveUp));
        // Paused time: exactly the grace, on the test's own clock.
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_stops_in_time_is_not_cut_short() {
        let stopped = serve_with_grace(async {}, Duration::from_secs(5), |shutdown| async move {
            shutdown.await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            7
        })
        .await;
        assert!(matches!(stopped, Stopped::Finished(7)));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_signal_there_is_no_bound() {
        let stopped = serve_with_grace(std::future::pending(), Duration::ZERO, |_shutdown| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "served"
        })
        .await;
        assert!(matches!(stopped, Stopped::Finished("served")));
    }
}
