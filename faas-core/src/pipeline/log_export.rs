//! OTLP log records (cargo feature `logging`, `OTEL_LOGS_EXPORTER=otlp`): `tracing` events
//! leave as OTLP log records with the spans' bounded flush.
//!
//! The events reach an `SdkLoggerProvider` through `opentelemetry-appender-tracing`; its one
//! processor queues each record (with the active trace context, which the SDK takes from the
//! current context, and `faas.invocation_id`) in a bounded queue and does no I/O, as the span
//! queue does. [`Telemetry::flush`](super::Telemetry::flush) then exports the queue after the
//! spans, within what is left of the same budget, with the same rules: one export at a time,
//! the queue capped (`OTEL_BLRP_MAX_QUEUE_SIZE`, default the span queue's cap, the oldest
//! record dropped first and counted in `dropped_logs`), a transient failure or a stall puts
//! the batch back at the front and backs off (`FAAS_OTEL_EXPORT_BACKOFF_MS`), a batch the
//! collector rejects for good is dropped and counted.
//!
//! Endpoint: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` +
//! `/v1/logs`; `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL` and `OTEL_EXPORTER_OTLP_LOGS_HEADERS` as for
//! traces.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::{AnyValue, LogRecord as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{
    LogBatch, LogExporter, LogProcessor, SdkLogRecord, SdkLogger, SdkLoggerProvider,
};

use super::backoff::{Backoff, BackoffSettings};
use super::export_error::{Failure, classify};
use super::exporter::http_settings;
use super::flush::FlushReport;
use crate::config::{Protocol, TelemetryConfig, parse_headers, signal_endpoint};
use crate::current_invocation::CurrentInvocationId;
use crate::env::Env;
use crate::error::{ConfigError, Error};
use crate::faas_environment::BoxFuture;

/// `otlp` turns OTLP log records on (default `none`).
pub const LOGS_EXPORTER_VAR: &str = "OTEL_LOGS_EXPORTER";
/// Records kept between two flushes (default: `OTEL_BSP_MAX_QUEUE_SIZE`'s value).
pub const LOGS_QUEUE_VAR: &str = "OTEL_BLRP_MAX_QUEUE_SIZE";

/// The attribute naming the invocation on each record.
const INVOCATION_ID: &str = "faas.invocation_id";

/// Where and how records are sent, from the variables.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LogsConfig {
    pub(crate) endpoint: String,
    pub(crate) protocol: Protocol,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) max_queue_size: usize,
}

/// The headers' names only: their values hold credentials.
impl std::fmt::Debug for LogsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsConfig")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &crate::config::RedactedHeaders(&self.headers))
            .field("max_queue_size", &self.max_queue_size)
            .finish()
    }
}

impl LogsConfig {
    /// `None` unless `OTEL_LOGS_EXPORTER=otlp`.
    pub(crate) fn from_env(
        env: &Env,
        config: &TelemetryConfig,
    ) -> Result<Option<Self>, ConfigError> {
        match env.get(LOGS_EXPORTER_VAR).as_deref().map(str::trim) {
            None | Some("" | "none") => return Ok(None),
            Some("otlp") => {}
            Some(other) => {
                return Err(ConfigError::new(
                    LOGS_EXPORTER_VAR,
                    other,
                    "expected otlp or none",
                ));
            }
        }
        let protocol = match env
            .get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")
            .or_else(|| env.get("OTEL_EXPORTER_OTLP_PROTOCOL"))
        {
            Some(v) => Protocol::parse("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", &v)?,
            None => Protocol::HttpProtobuf,
        };
        let endpoint = signal_endpoint(
            env,
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "/v1/logs",
            protocol,
        )?;
        let mut headers = parse_headers(env, "OTEL_EXPORTER_OTLP_HEADERS")?;
        headers.extend(parse_headers(env, "OTEL_EXPORTER_OTLP_LOGS_HEADERS")?);
        let max_queue_size = match env.get(LOGS_QUEUE_VAR) {
            None => config.max_queue_size,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(ConfigError::new(
                        LOGS_QUEUE_VAR,
                        v,
                        "expected a positive integer",
                    ));
                }
            },
        };
        Ok(Some(Self {
            endpoint,
            protocol,
            headers,
            max_queue_size,
        }))
    }
}

/// One queued record with its scope.
type Queued = (SdkLogRecord, InstrumentationScope);

/// The bounded record queue: the oldest record leaves first when it is full.
#[derive(Debug)]
struct LogBuffer {
    records: Mutex<VecDeque<Queued>>,
    capacity: usize,
    dropped: AtomicU64,
}

impl LogBuffer {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Queued>> {
        match self.records.lock() {
            Ok(records) => records,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn push(&self, record: Queued) {
        let mut records = self.lock();
        if records.len() >= self.capacity {
            let _oldest = records.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        if self.capacity > 0 {
            records.push_back(record);
        }
    }

    /// Puts `batch` back at the front; returns how many did not fit (oldest first).
    fn requeue(&self, batch: Vec<Queued>) -> u64 {
        let mut records = self.lock();
        let room = self.capacity.saturating_sub(records.len());
        let excess = batch.len().saturating_sub(room);
        for record in batch.into_iter().skip(excess).rev() {
            records.push_front(record);
        }
        excess as u64
    }

    fn drain(&self) -> Vec<Queued> {
        Vec::from(std::mem::take(&mut *self.lock()))
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The processor: `emit` tags and queues, nothing else happens until a flush.
#[derive(Debug)]
struct BufferingLogProcessor {
    buffer: Arc<LogBuffer>,
}

impl LogProcessor for BufferingLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        opentelemetry::Context::map_current(|cx| {
            if let Some(id) = CurrentInvocationId::in_context(cx) {
                record.add_attribute(INVOCATION_ID, AnyValue::from(id.to_owned()));
            }
        });
        self.buffer.push((record.clone(), scope.clone()));
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Makes a fresh log exporter for the blocking drain.
type LogExporterFactory = Arc<dyn Fn() -> Result<Arc<dyn DynLogExporter>, Error> + Send + Sync>;

/// An object-safe [`LogExporter`].
trait DynLogExporter: Send + Sync + std::fmt::Debug {
    fn export_boxed<'a>(&'a self, batch: &'a [Queued]) -> BoxFuture<'a, OTelSdkResult>;
}

impl<E: LogExporter> DynLogExporter for E {
    fn export_boxed<'a>(&'a self, batch: &'a [Queued]) -> BoxFuture<'a, OTelSdkResult> {
        Box::pin(async move {
            let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> = batch
                .iter()
                .map(|(record, scope)| (record, scope))
                .collect();
            self.export(LogBatch::new(&refs)).await
        })
    }
}

fn otlp_log_exporter(
    config: &TelemetryConfig,
    logs: &LogsConfig,
    resource: &Resource,
) -> Result<Arc<dyn DynLogExporter>, Error> {
    #[cfg(feature = "grpc")]
    if logs.protocol == Protocol::Grpc {
        use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
        let mut exporter = opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_endpoint(logs.endpoint.clone())
            .with_timeout(config.export_timeout)
            .with_retry_policy(opentelemetry_otlp::RetryPolicy::disabled())
            .build()
            .map_err(|e| Error::Exporter(e.to_string()))?;
        exporter.set_resource(resource);
        return Ok(Arc::new(exporter));
    }
    let mut exporter = http_settings(
        opentelemetry_otlp::LogExporter::builder().with_http(),
        config,
        &logs.endpoint,
        logs.protocol,
        &logs.headers,
    )?
    .build()
    .map_err(|e| Error::Exporter(e.to_string()))?;
    exporter.set_resource(resource);
    Ok(Arc::new(exporter))
}

/// The OTLP log pipeline of one [`Telemetry`](super::Telemetry); see the module docs.
pub(crate) struct LogExport {
    buffer: Arc<LogBuffer>,
    exporter: Arc<dyn DynLogExporter>,
    /// A fresh exporter (its own connections) for the blocking drain, which runs on a runtime
    /// of its own.
    make_exporter: LogExporterFactory,
    provider: SdkLoggerProvider,
    exporting: tokio::sync::Mutex<()>,
    backoff: Backoff,
}

/// Everything but the exporter, whose own `Debug` (opentelemetry-otlp's) prints the export
/// headers, API keys included.
impl std::fmt::Debug for LogExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogExport")
            .field("buffer", &self.buffer)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl LogExport {
    /// The pipeline `OTEL_LOGS_EXPORTER=otlp` asks for, `None` otherwise (or when the SDK is
    /// disabled). Does no network I/O.
    pub(crate) fn from_env(
        env: &Env,
        config: &TelemetryConfig,
        resource: &Resource,
    ) -> Result<Option<Arc<Self>>, Error> {
        if config.sdk_disabled {
            return Ok(None);
        }
        let Some(logs) = LogsConfig::from_env(env, config)? else {
            return Ok(None);
        };
        let exporter = otlp_log_exporter(config, &logs, resource)?;
        let make_exporter: LogExporterFactory = {
            let (config, logs, resource) = (config.clone(), logs.clone(), resource.clone());
            Arc::new(move || otlp_log_exporter(&config, &logs, &resource))
        };
        let buffer = Arc::new(LogBuffer {
            records: Mutex::new(VecDeque::new()),
            capacity: logs.max_queue_size,
            dropped: AtomicU64::new(0),
        });
        let provider = SdkLoggerProvider::builder()
            .with_resource(resource.clone())
            .with_log_processor(BufferingLogProcessor {
                buffer: buffer.clone(),
            })
            .build();
        Ok(Some(Arc::new(Self {
            buffer,
            exporter,
            make_exporter,
            provider,
            exporting: tokio::sync::Mutex::new(()),
            backoff: Backoff::new(BackoffSettings::from_env(env)?),
        })))
    }

    /// The layer that turns `tracing` events into records of this pipeline.
    pub(crate) fn layer(
        &self,
    ) -> opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge<
        SdkLoggerProvider,
        SdkLogger,
    > {
        opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&self.provider)
    }

    /// Exports the queue within `budget` counted from `started` (`final_attempt`: ignore the
    /// back-off), adding what happened to `report`.
    pub(crate) async fn export(
        &self,
        budget: Duration,
        started: Instant,
        final_attempt: bool,
        report: &mut FlushReport,
    ) {
        self.export_with(
            self.exporter.as_ref(),
            budget,
            started,
            final_attempt,
            report,
        )
        .await;
    }

    /// The blocking drain of the drop and panic paths: a final attempt within `budget`, on a
    /// thread of its own with its own runtime and a fresh exporter (the caller's runtime may
    /// be blocked or going down), adding what happened to `report`.
    pub(crate) fn blocking(&self, budget: Duration, report: &mut FlushReport) {
        if self.buffer.len() == 0 {
            report.dropped_logs = report
                .dropped_logs
                .saturating_add(self.buffer.dropped.swap(0, Ordering::Relaxed));
            return;
        }
        let exporter = (self.make_exporter)().unwrap_or_else(|_| self.exporter.clone());
        std::thread::scope(|scope| {
            let _joined = scope
                .spawn(|| {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    let started = Instant::now();
                    runtime.block_on(self.export_with(
                        exporter.as_ref(),
                        budget,
                        started,
                        true,
                        report,
                    ));
                })
                .join();
        });
    }

    async fn export_with(
        &self,
        exporter: &dyn DynLogExporter,
        budget: Duration,
        started: Instant,
        final_attempt: bool,
        report: &mut FlushReport,
    ) {
        report.dropped_logs = report
            .dropped_logs
            .saturating_add(self.buffer.dropped.swap(0, Ordering::Relaxed));
        let left = budget.saturating_sub(started.elapsed());
        let _exporting = match tokio::time::timeout(left, self.exporting.lock()).await {
            Ok(guard) => guard,
            Err(_) => {
                report.deferred_logs = self.buffer.len() as u64;
                return;
            }
        };
        if !final_attempt && self.backoff.wait_at(Instant::now()).is_some() {
            report.deferred_logs = self.buffer.len() as u64;
            return;
        }
        let batch = self.buffer.drain();
        if batch.is_empty() {
            return;
        }
        let count = batch.len() as u64;
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            let lost = self.buffer.requeue(batch);
            report.deferred_logs = count.saturating_sub(lost);
            report.dropped_logs = report.dropped_logs.saturating_add(lost);
            return;
        }
        let outcome = tokio::time::timeout(left, exporter.export_boxed(&batch)).await;
        match outcome {
            Ok(Ok(())) => {
                report.exported_logs = count;
                self.backoff.succeeded();
            }
            Ok(Err(error)) => {
                report.error.get_or_insert_with(|| error.to_string());
                match classify(&error) {
                    Failure::Transient => self.put_back(report, batch),
                    Failure::Permanent => {
                        self.backoff.succeeded();
                        report.dropped_logs = report.dropped_logs.saturating_add(count);
                    }
                }
            }
            Err(_) => {
                report.timed_out = true;
                self.put_back(report, batch);
            }
        }
    }

    fn put_back(&self, report: &mut FlushReport, batch: Vec<Queued>) {
        let count = batch.len() as u64;
        let lost = self.buffer.requeue(batch);
        report.requeued_logs = count.saturating_sub(lost);
        report.dropped_logs = report.dropped_logs.saturating_add(lost);
        let _interval = self.backoff.failed(Instant::now());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::logs::{Logger as _, LoggerProvider as _};

    fn config(pairs: &[(&str, &str)]) -> Result<Option<LogsConfig>, ConfigError> {
        let env = Env::from_pairs(pairs.iter().copied());
        let telemetry = TelemetryConfig::from_env(&env).unwrap();
        LogsConfig::from_env(&env, &telemetry)
    }

    #[test]
    fn logs_config_table() {
        assert_eq!(config(&[]).unwrap(), None);
        assert_eq!(config(&[(LOGS_EXPORTER_VAR, "none")]).unwrap(), None);
        let on = config(&[
            (LOGS_EXPORTER_VAR, "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "7"),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=a"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(on.endpoint, "http://collector:4318/v1/logs");
        assert_eq!(on.max_queue_size, 7);
        assert_eq!(on.headers, [("x-tenant".to_owned(), "a".to_owned())]);
        let own = config(&[
            (LOGS_EXPORTER_VAR, "otlp"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9/in"),
            (LOGS_QUEUE_VAR, "3"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (own.endpoint.as_str(), own.max_queue_size),
            ("http://logs:9/in", 3)
        );
        let err = config(&[(LOGS_EXPORTER_VAR, "console")]).unwrap_err();
        assert_eq!(
            (err.variable.as_str(), err.value.as_str()),
            (LOGS_EXPORTER_VAR, "console")
        );
        let err = config(&[(LOGS_EXPORTER_VAR, "otlp"), (LOGS_QUEUE_VAR, "0")]).unwrap_err();
        assert_eq!(err.variable, LOGS_QUEUE_VAR);
    }

    fn record(body: &str) -> Queued {
        let mut record = SdkLoggerProvider::builder()
            .build()
            .logger("t")
            .create_log_record();
        record.set_body(AnyValue::from(body.to_owned()));
        (record, InstrumentationScope::default())
    }

    fn bodies(buffer: &LogBuffer) -> Vec<String> {
        buffer
            .drain()
            .into_iter()
            .map(|(r, _)| match r.body() {
                Some(AnyValue::String(s)) => s.to_string(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn the_queue_drops_its_oldest_and_requeues_in_front() {
        let buffer = LogBuffer {
            records: Mutex::new(VecDeque::new()),
            capacity: 3,
            dropped: AtomicU64::new(0),
        };
        for b in ["a", "b", "c", "d"] {
            buffer.push(record(b));
        }
        assert_eq!(buffer.dropped.swap(0, Ordering::Relaxed), 1);
        assert_eq!(bodies(&buffer), ["b", "c", "d"]);
        buffer.push(record("new"));
        assert_eq!(
            buffer.requeue(vec![record("o1"), record("o2"), record("o3")]),
            1
        );
        assert_eq!(bodies(&buffer), ["o2", "o3", "new"]);
    }
}
