//! The telemetry pipeline: one call builds the tracer and meter providers from the standard
//! variables, and a bounded flush hands every span to the collector before the platform
//! freezes the process.
//!
//! # Why not the SDK's batch processor
//!
//! `opentelemetry_sdk`'s `BatchSpanProcessor` exports from its own thread, which a serverless
//! platform freezes between invocations; its `force_flush` waits a hard-coded 5 s; and it only
//! works with the blocking HTTP client. Here ended spans go into a bounded queue
//! (`OTEL_BSP_MAX_QUEUE_SIZE`, overflow counted), and [`Telemetry::flush`] exports them on the
//! caller's own tokio runtime (current-thread or multi-thread), under a time budget
//! (`FAAS_OTEL_FLUSH_TIMEOUT_MS`, default 250 ms, capped by the invocation's deadline). When the
//! budget runs out the export is cancelled and the spans are counted as dropped: a collector
//! that refuses, stalls or fails never holds an invocation longer than the budget.
//!
//! ```no_run
//! # async fn example() -> Result<(), faas_core::Error> {
//! use faas_core::faas_environment::LocalEnvironment;
//! use faas_core::pipeline::Telemetry;
//!
//! let telemetry = Telemetry::builder(LocalEnvironment::named("hello")).build()?;
//! // ... handle an invocation ...
//! let report = telemetry.flush(None).await;
//! assert!(report.elapsed <= report.budget + std::time::Duration::from_millis(50));
//! telemetry.shutdown().await;
//! # Ok(()) }
//! ```

mod backoff;
mod drain;
pub(crate) mod export_auth;
mod export_error;
mod exporter;
mod flush;
mod http_client;
#[cfg(feature = "logging")]
mod log_export;
mod metrics;
mod shutdown;
mod span_buffer;
mod telemetry;

pub use export_auth::{ExportAuth, ExportAuthError};
pub use flush::{
    DEADLINE_MARGIN, FlushReport, MAX_PLAUSIBLE_REMAINING, MIN_FLUSH_BUDGET, effective_budget,
};
#[cfg(feature = "logging")]
pub use log_export::{LOGS_EXPORTER_VAR, LOGS_QUEUE_VAR};
pub use metrics::{
    DROP_NO_EXPORTER, DROP_QUEUE_FULL, DROP_REJECTED, FaasMetrics, SPANS_DROPPED_METRIC,
};
pub use shutdown::{ShutdownSignal, terminated};
pub use telemetry::{SCOPE_NAME, Telemetry, TelemetryBuilder};
