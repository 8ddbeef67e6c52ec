//! Draining on termination: platforms send SIGTERM before they stop an instance.

use std::future::Future;
use std::pin::Pin;

use super::telemetry::Telemetry;

/// A boxed shutdown signal, as the providers' `Server::shutdown_signal` keep it.
pub type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Resolves when the process is asked to stop: SIGTERM or SIGINT (Ctrl-C).
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            // No signal driver (runtime built without `enable_io`): never resolves, so the
            // caller's other branches decide.
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Telemetry {
    /// Spawns a task that, on SIGTERM or SIGINT, drains the pipeline within the shutdown
    /// budget (`FAAS_OTEL_SHUTDOWN_TIMEOUT_MS`) and exits the process with status 0.
    ///
    /// Must be called inside a tokio runtime with the I/O and time drivers enabled.
    pub fn spawn_drain_on_termination(&self) -> tokio::task::JoinHandle<()> {
        let telemetry = self.clone();
        tokio::spawn(async move {
            terminated().await;
            let _report = telemetry.shutdown().await;
            std::process::exit(0);
        })
    }
}
