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
//! budget runs out the export is cancelled: a collector that refuses, stalls or fails never
//! holds an invocation longer than the budget.
//!
//! # Collector faults and concurrency
//!
//! - **Nothing that fits is lost.** A batch whose export failed transiently (connection
//!   refused or reset, HTTP 429/502/503/504, gRPC `UNAVAILABLE`, ...) or ran out of budget goes
//!   back to the front of the queue and leaves with a later flush ([`FlushReport::requeued_spans`]).
//!   The queue stays bounded by `OTEL_BSP_MAX_QUEUE_SIZE`; when it is full the OLDEST spans are
//!   dropped first. An answer OTLP says must not be retried (400, 500, ...) drops its batch. A
//!   timed-out request the collector did take after all is sent again: at least once.
//! - **Back-off.** After a transient failure or a stall, flushes make no attempt until
//!   `FAAS_OTEL_EXPORT_BACKOFF_MS` (default 1000) has passed ([`FlushReport::deferred_spans`],
//!   [`FlushReport::backoff`]); the interval doubles after each further failure up to
//!   `FAAS_OTEL_EXPORT_BACKOFF_MAX_MS` (default 30000) and a success resets it. A stalled
//!   collector therefore costs one budget, then one per probe, not one per invocation.
//!   [`Telemetry::shutdown`] (and so the SIGTERM drain), the drop drain and the SDK's own
//!   `force_flush` make a final attempt within their own budget regardless of the back-off.
//! - **One export at a time.** Concurrent invocations (Lambda Managed Instances, Azure, Cloud
//!   Run) share one queue and one exporter. A flush that starts while another is exporting
//!   waits for it, at most its own budget ([`FlushReport::waited_for_in_flight`]); if the budget
//!   runs out first its spans stay queued. No flush drops spans another one took. The shutdown
//!   waits for a flush in flight the same way, within the shutdown budget.
//! - **Drops counted once.** Every lost span is counted in the `dropped_spans` of exactly one
//!   [`FlushReport`] (the providers put it on the next invocation span as
//!   `faas_otel.flush.dropped_spans`) and in the counter [`SPANS_DROPPED_METRIC`]
//!   (`faas_otel.spans.dropped`, `error.type` = [`DROP_QUEUE_FULL`], [`DROP_REJECTED`] or
//!   [`DROP_NO_EXPORTER`]).
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
mod capped_answer;
mod drain;
pub(crate) mod export_auth;
mod export_body;
mod export_client;
mod export_deadline;
mod export_error;
#[cfg(feature = "tls")]
mod export_tls;
mod exporter;
mod flush;
mod http_client;
mod inline_connection;
#[cfg(feature = "logging")]
mod log_export;
mod metrics;
mod shutdown;
mod span_buffer;
mod telemetry;

pub use export_auth::{ExportAuth, ExportAuthError};
pub use export_body::ExportBody;
pub use export_client::ExportClient;
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
