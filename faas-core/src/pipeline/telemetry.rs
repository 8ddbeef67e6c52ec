//! [`Telemetry`]: the tracer and meter providers, the span queue and the bounded flush.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter};

use super::backoff::BackoffSettings;
use super::drain::{Attempt, Drain, DrainParts, Exporters, Factories};
use super::export_auth::ExportAuth;
use super::export_client::ExportClient;
use super::exporter::{
    DynMetricExporter, DynSpanExporter, MetricExporterFactory, SpanExporterFactory,
    otlp_metric_exporter, otlp_span_exporter,
};
use super::flush::{FlushReport, effective_budget};
use super::metrics::{FaasMetrics, SharedReader};
use super::span_buffer::{BufferingProcessor, SpanBuffer};
use crate::cold_start::ColdStart;
use crate::config::TelemetryConfig;
use crate::cost::{Architecture, CostModel};
use crate::env::Env;
use crate::error::Error;
use crate::faas_environment::{FaasEnvironment, enrich_within};
use crate::open_spans::OpenSpans;
use crate::resource::build_resource;

/// Name of the instrumentation scope of every span this project creates.
pub const SCOPE_NAME: &str = "faas-otel";

/// The telemetry of one function process. Cheap to clone; every clone shares the pipeline.
///
/// Build it once at start-up with [`Telemetry::builder`]. After each invocation call
/// [`Telemetry::flush`]; at the end call [`Telemetry::shutdown`] (dropping the last clone
/// drains too, blocking for at most the shutdown budget).
#[derive(Debug, Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: TelemetryConfig,
    environment: Arc<dyn FaasEnvironment>,
    resource: Resource,
    tracer_provider: SdkTracerProvider,
    tracer: SdkTracer,
    meter_provider: SdkMeterProvider,
    metrics: FaasMetrics,
    drain: Arc<Drain>,
    last_metric_export: Mutex<Instant>,
    cold_start: &'static ColdStart,
    cost_model: Option<Arc<dyn CostModel>>,
    shut_down: AtomicBool,
    open_spans: Arc<OpenSpans>,
    /// OTLP log records (`OTEL_LOGS_EXPORTER=otlp`), flushed after the spans.
    #[cfg(feature = "logging")]
    logs: Option<Arc<super::log_export::LogExport>>,
}

/// Builds a [`Telemetry`]; see [`Telemetry::builder`].
#[must_use]
pub struct TelemetryBuilder {
    environment: Arc<dyn FaasEnvironment>,
    env: Env,
    config: Option<TelemetryConfig>,
    span_exporter: Option<(Arc<dyn DynSpanExporter>, SpanExporterFactory)>,
    metric_exporter: Option<(Arc<dyn DynMetricExporter>, MetricExporterFactory)>,
    cold_start: &'static ColdStart,
    install_global: bool,
    enriched: Vec<KeyValue>,
    cost_model: Option<Arc<dyn CostModel>>,
    export_auth: Option<Arc<dyn ExportAuth>>,
    export_client: Option<ExportClient>,
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("environment", &self.environment)
            .field("install_global", &self.install_global)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Starts building the telemetry of a function running in `environment`.
    ///
    /// Marks the end of the `startup` phase of initialization (process start to here).
    pub fn builder(environment: impl FaasEnvironment + 'static) -> TelemetryBuilder {
        Self::builder_dyn(Arc::new(environment))
    }

    /// As [`Telemetry::builder`], for an environment found by [`crate::faas_environment::detect`].
    pub fn builder_dyn(environment: Arc<dyn FaasEnvironment>) -> TelemetryBuilder {
        let cold_start = ColdStart::global();
        cold_start.mark_phase("startup");
        TelemetryBuilder {
            environment,
            env: Env::process(),
            config: None,
            span_exporter: None,
            metric_exporter: None,
            cold_start,
            install_global: true,
            enriched: Vec::new(),
            cost_model: None,
            export_auth: None,
            export_client: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &TelemetryConfig {
        &self.inner.config
    }

    /// The environment the function runs in.
    pub fn environment(&self) -> &Arc<dyn FaasEnvironment> {
        &self.inner.environment
    }

    /// The resource every span and metric carries.
    pub fn resource(&self) -> &Resource {
        &self.inner.resource
    }

    /// The tracer for this project's spans (scope [`SCOPE_NAME`]).
    pub fn tracer(&self) -> &SdkTracer {
        &self.inner.tracer
    }

    /// The tracer provider, for user tracers and the `tracing` bridge.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.inner.tracer_provider
    }

    /// The meter provider.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.inner.meter_provider
    }

    /// The FaaS metric instruments.
    pub fn metrics(&self) -> &FaasMetrics {
        &self.inner.metrics
    }

    /// The process's cold-start state.
    pub fn cold_start(&self) -> &'static ColdStart {
        self.inner.cold_start
    }

    /// The price plan for cost attributes, if the platform has one.
    pub fn cost_model(&self) -> Option<&Arc<dyn CostModel>> {
        self.inner.cost_model.as_ref()
    }

    /// Configured memory in megabytes, from the environment.
    pub fn memory_mb(&self) -> Option<u64> {
        self.inner
            .environment
            .max_memory_bytes()
            .map(|b| b / (1024 * 1024))
    }

    /// The billed architecture.
    pub fn architecture(&self) -> Architecture {
        self.inner.environment.architecture()
    }

    /// The OTLP log pipeline, when `OTEL_LOGS_EXPORTER=otlp`.
    #[cfg(feature = "logging")]
    pub(crate) fn log_export(&self) -> Option<&super::log_export::LogExport> {
        self.inner.logs.as_deref()
    }

    /// Number of spans waiting for the next flush.
    pub fn queued_spans(&self) -> usize {
        self.inner.drain.buffer.len()
    }

    /// The spans open under the invocations in flight (the watchdog and the panic hook end
    /// them).
    pub(crate) fn open_spans(&self) -> &OpenSpans {
        &self.inner.open_spans
    }

    /// Drains spans and metrics within `budget`, blocking, on a thread and runtime of its own
    /// (the panic hook's path: the caller's runtime may be the one that is going down).
    pub(crate) fn drain_blocking(&self, budget: Duration) -> FlushReport {
        self.inner.drain_blocking(budget)
    }

    /// Exports every ended span (and the metrics, when their interval has passed) within the
    /// flush budget, capped by the invocation's `deadline` when one is given
    /// ([`effective_budget`]). Returns within that budget whatever the collector does.
    ///
    /// Call it after the response was sent and before asking for the next invocation.
    pub async fn flush(&self, deadline: Option<SystemTime>) -> FlushReport {
        let budget = effective_budget(self.inner.config.flush_timeout, deadline, SystemTime::now());
        self.flush_within(budget, false).await
    }

    /// Exports everything queued and all metrics within `budget`.
    pub async fn flush_within(&self, budget: Duration, force_metrics: bool) -> FlushReport {
        self.flush_as(budget, force_metrics, Attempt::Regular).await
    }

    /// [`Telemetry::flush_within`]; a [`Attempt::Final`] flush ignores the back-off.
    async fn flush_as(
        &self,
        budget: Duration,
        force_metrics: bool,
        attempt: Attempt,
    ) -> FlushReport {
        let started = Instant::now();
        let metrics_due = force_metrics || self.metrics_due(started);
        let mut report = self
            .inner
            .drain
            .export(budget, metrics_due, started, attempt)
            .await;
        #[cfg(feature = "logging")]
        if let Some(logs) = &self.inner.logs {
            logs.export(budget, started, attempt == Attempt::Final, &mut report)
                .await;
        }
        if report.metrics_exported
            && let Ok(mut last) = self.inner.last_metric_export.lock()
        {
            *last = started;
        }
        report.elapsed = started.elapsed();
        report
    }

    fn metrics_due(&self, now: Instant) -> bool {
        self.inner
            .last_metric_export
            .lock()
            .map(|last| {
                now.saturating_duration_since(*last) >= self.inner.config.metric_export_interval
            })
            .unwrap_or(false)
    }

    /// Drains spans and metrics within the shutdown budget: waits for a flush in flight (within
    /// that budget), then makes a final attempt even while the exporter is backing off. Later
    /// flushes still work; the final drain on drop is skipped.
    pub async fn shutdown(&self) -> FlushReport {
        let report = self
            .flush_as(self.inner.config.shutdown_timeout, true, Attempt::Final)
            .await;
        self.inner.shut_down.store(true, Ordering::Release);
        report
    }
}

impl Inner {
    /// Spans and metrics, then the log records (OTLP logs on) within what is left of
    /// `budget`, blocking: the panic hook's and the drop's drain.
    fn drain_blocking(&self, budget: Duration) -> FlushReport {
        let started = Instant::now();
        #[allow(unused_mut)]
        let mut report = self.drain.blocking(budget, true);
        #[cfg(feature = "logging")]
        if let Some(logs) = &self.logs {
            logs.blocking(budget.saturating_sub(started.elapsed()), &mut report);
        }
        report.elapsed = started.elapsed();
        report
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.shut_down.load(Ordering::Acquire) {
            let _report = self.drain_blocking(self.config.shutdown_timeout);
        }
    }
}

impl TelemetryBuilder {
    /// Uses this configuration instead of reading the environment.
    pub fn with_config(mut self, config: TelemetryConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// Reads configuration from `env` instead of the process environment.
    pub fn with_env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Sends spans to `exporter` instead of OTLP (tests, benchmarks, custom backends).
    pub fn with_span_exporter<E>(mut self, exporter: E) -> Self
    where
        E: SpanExporter + Clone + 'static,
    {
        let factory_copy = exporter.clone();
        let factory: SpanExporterFactory = Arc::new(move |resource: &Resource| {
            let mut e = factory_copy.clone();
            e.set_resource(resource);
            Ok(Arc::new(e) as Arc<dyn DynSpanExporter>)
        });
        self.span_exporter = Some((Arc::new(exporter), factory));
        self
    }

    /// Sends metrics to `exporter` instead of OTLP.
    pub fn with_metric_exporter<E>(mut self, exporter: E) -> Self
    where
        E: opentelemetry_sdk::metrics::exporter::PushMetricExporter
            + Clone
            + std::fmt::Debug
            + 'static,
    {
        let factory_copy = exporter.clone();
        let factory: MetricExporterFactory =
            Arc::new(move || Ok(Arc::new(factory_copy.clone()) as Arc<dyn DynMetricExporter>));
        self.metric_exporter = Some((Arc::new(exporter), factory));
        self
    }

    /// Authorizes every OTLP/HTTP export request with `auth` (SigV4 in faas-aws, a Google
    /// token in faas-gcp), after compression and on every attempt; see [`ExportAuth`].
    pub fn with_export_auth(mut self, auth: Arc<dyn ExportAuth>) -> Self {
        self.export_auth = Some(auth);
        self
    }

    /// Builds the OTLP/HTTP export client for `client`'s request body type (see
    /// [`ExportClient`]): faas-aws names `lambda_runtime`'s, so that the exporter's hyper client
    /// is the runtime's own type and is linked once.
    pub fn with_export_client(mut self, client: ExportClient) -> Self {
        self.export_client = Some(client);
        self
    }

    /// Prices invocations with `model` instead of the environment's price plan.
    pub fn with_cost_model(mut self, model: Arc<dyn CostModel>) -> Self {
        self.cost_model = Some(model);
        self
    }

    /// Uses this cold-start state instead of the process-wide one (tests).
    pub fn with_cold_start(mut self, cold_start: &'static ColdStart) -> Self {
        self.cold_start = cold_start;
        self
    }

    /// Whether to install the providers and propagator as OpenTelemetry's globals
    /// (default: yes).
    pub fn install_global(mut self, install: bool) -> Self {
        self.install_global = install;
        self
    }

    /// Adds resource attributes found by [`FaasEnvironment::enrich`], waiting at most
    /// `bound`. This is I/O on the start-up path: only call it when asked to.
    pub async fn enrich_within(mut self, bound: Duration) -> Self {
        self.enriched = enrich_within(self.environment.as_ref(), bound).await;
        self
    }

    /// Builds the pipeline. Does no network I/O.
    pub fn build(self) -> Result<Telemetry, Error> {
        let mut config = match self.config {
            Some(config) => config,
            None => TelemetryConfig::from_env(&self.env)?,
        };
        if let Some(auth) = self.export_auth {
            config.export_auth = Some(auth);
        }
        if let Some(client) = self.export_client {
            config.export_client = Some(client);
        }
        let environment = self.environment;
        let cost_model = match self.cost_model {
            Some(model) => Some(model),
            None => match environment.price_plan() {
                Some(plan) => Some(Arc::new(plan.with_overrides(&self.env)?) as Arc<dyn CostModel>),
                None => None,
            },
        };
        let resource = build_resource(environment.as_ref(), &config, self.enriched);
        self.cold_start
            .set_initialization_type(environment.initialization_type());

        let exporting = !config.sdk_disabled;
        let (span_exporter, span_factory) = match self.span_exporter {
            _ if !exporting || !config.traces_enabled => (None, None),
            Some((exporter, factory)) => (Some(exporter), Some(factory)),
            None => {
                let exporter = otlp_span_exporter(&config, &resource)?;
                let cfg = config.clone();
                let factory: SpanExporterFactory =
                    Arc::new(move |resource: &Resource| otlp_span_exporter(&cfg, resource));
                (Some(exporter), Some(factory))
            }
        };
        let (metric_exporter, metric_factory) = match self.metric_exporter {
            _ if !exporting || !config.metrics_enabled => (None, None),
            Some((exporter, factory)) => (Some(exporter), Some(factory)),
            None => {
                let exporter = otlp_metric_exporter(&config)?;
                let cfg = config.clone();
                let factory: MetricExporterFactory = Arc::new(move || otlp_metric_exporter(&cfg));
                (Some(exporter), Some(factory))
            }
        };
        let metric_reader = metric_exporter
            .as_ref()
            .map(|_| SharedReader(Arc::new(ManualReader::builder().build())));

        let backoff = BackoffSettings::from_env(&self.env)?;

        let scope = InstrumentationScope::builder(SCOPE_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let mut meter_builder = SdkMeterProvider::builder().with_resource(resource.clone());
        if let Some(reader) = metric_reader.clone() {
            meter_builder = meter_builder.with_reader(reader);
        }
        let meter_provider = meter_builder.build();
        let metrics = FaasMetrics::new(&opentelemetry::metrics::MeterProvider::meter_with_scope(
            &meter_provider,
            scope.clone(),
        ));

        let drain = Arc::new(Drain::new(DrainParts {
            buffer: SpanBuffer::new(config.max_queue_size),
            exporters: Exporters {
                spans: span_exporter,
                metrics: metric_exporter,
            },
            metric_reader,
            factories: Factories {
                spans: span_factory,
                metrics: metric_factory,
            },
            resource: resource.clone(),
            backoff,
            spans_dropped: metrics.spans_dropped.clone(),
        }));

        let open_spans = OpenSpans::new();
        let mut tracer_builder = SdkTracerProvider::builder().with_resource(resource.clone());
        tracer_builder = if exporting {
            tracer_builder.with_sampler(config.sampler.build())
        } else {
            tracer_builder.with_sampler(Sampler::AlwaysOff)
        };
        if drain.has_span_exporter() {
            let for_sdk = drain.clone();
            tracer_builder =
                tracer_builder.with_span_processor(open_spans.wrap(BufferingProcessor {
                    buffer: drain.buffer.clone(),
                    on_sdk_flush: Arc::new(move |budget| {
                        let _report = for_sdk.blocking(budget, false);
                    }),
                    shutdown_timeout: config.shutdown_timeout,
                }));
        }
        let tracer_provider = tracer_builder.build();
        let tracer = tracer_provider.tracer_with_scope(scope);

        if self.install_global {
            global::set_tracer_provider(tracer_provider.clone());
            global::set_meter_provider(meter_provider.clone());
            global::set_text_map_propagator(config.propagation.clone());
        }
        self.cold_start.mark_phase("telemetry");

        #[cfg(feature = "logging")]
        let logs = super::log_export::LogExport::from_env(&self.env, &config, &resource)?;
        Ok(Telemetry {
            inner: Arc::new(Inner {
                #[cfg(feature = "logging")]
                logs,
                cost_model,
                config,
                environment,
                resource,
                tracer_provider,
                tracer,
                meter_provider,
                metrics,
                drain,
                last_metric_export: Mutex::new(Instant::now()),
                cold_start: self.cold_start,
                shut_down: AtomicBool::new(false),
                open_spans,
            }),
        })
    }
}
