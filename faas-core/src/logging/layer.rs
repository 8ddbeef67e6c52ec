//! [`Logging`]: the `tracing` layer that writes correlated log lines, bridges handler spans
//! into the invocation's trace and, with `OTEL_LOGS_EXPORTER=otlp`, queues OTLP log records.

use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::registry::LookupSpan;

use super::config::{DEFAULT_LEVEL, filter_from_env};
use super::format::CorrelatedFormat;
use super::style::LogFormat;
use crate::env::Env;
use crate::error::ConfigError;
use crate::pipeline::Telemetry;

/// Targets whose `tracing` spans never become OpenTelemetry spans: `lambda_runtime`'s own
/// worker and invoke spans (the provider layer already makes the invocation span).
pub const UNBRIDGED_TARGETS: &[&str] = &["lambda_runtime"];

/// What the project's logging writes and where; see [`super`].
pub struct Logging {
    format: LogFormat,
    filter: Targets,
    writer: BoxMakeWriter,
}

impl std::fmt::Debug for Logging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logging")
            .field("format", &self.format)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Logging {
    /// Lines in `format` on stdout, at [`DEFAULT_LEVEL`] (`INFO`).
    pub fn new(format: LogFormat) -> Self {
        Self {
            format,
            filter: Targets::new().with_default(DEFAULT_LEVEL),
            writer: BoxMakeWriter::new(std::io::stdout),
        }
    }

    /// Lines in `format` on stdout, filtered by `RUST_LOG` from `env`.
    pub fn from_env(format: LogFormat, env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(format).with_filter(filter_from_env(env)?))
    }

    /// Which events become lines and OTLP records, and which `tracing` spans are bridged.
    pub fn with_filter(mut self, filter: Targets) -> Self {
        self.filter = filter;
        self
    }

    /// Writes lines to `writer` instead of stdout (tests, a non-blocking writer).
    pub fn with_writer<W>(mut self, writer: W) -> Self
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        self.writer = BoxMakeWriter::new(writer);
        self
    }

    /// The format of the lines.
    pub fn format(&self) -> &LogFormat {
        &self.format
    }

    /// The layer: the `tracing` bridge (handler spans become children of the invocation span;
    /// not for [`UNBRIDGED_TARGETS`]), the correlated lines and, when the telemetry exports
    /// logs, its OTLP log records, each behind the filter. Compose it with your own layers:
    ///
    /// ```no_run
    /// use tracing_subscriber::layer::SubscriberExt as _;
    /// # fn example(telemetry: &faas_core::pipeline::Telemetry) {
    /// let format = faas_core::logging::LogFormat::Json(Default::default());
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(faas_core::logging::Logging::new(format).layer(telemetry));
    /// tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
    /// # }
    /// ```
    pub fn layer<S>(self, telemetry: &Telemetry) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
    {
        let span_filter = UNBRIDGED_TARGETS
            .iter()
            .fold(self.filter.clone(), |filter, target| {
                filter.with_target(*target, LevelFilter::OFF)
            });
        let bridge = crate::tracing_bridge::layer(telemetry).with_filter(span_filter);
        let lines = tracing_subscriber::fmt::layer()
            .event_format(CorrelatedFormat::new(self.format))
            .with_writer(self.writer)
            .with_filter(self.filter.clone());
        // Not an `Option<Layer>`: a `None` one hints `OFF` as its most verbose level, which
        // beside per-layer filters turns every other layer off.
        let records: Box<dyn Layer<S> + Send + Sync> = match telemetry.log_export() {
            Some(logs) => Box::new(logs.layer().with_filter(self.filter)),
            None => Box::new(tracing_subscriber::layer::Identity::new()),
        };
        bridge.and_then(lines).and_then(records)
    }

    /// Installs `registry().with(self.layer(telemetry))` as the global `tracing` subscriber,
    /// unless one is already set (then the user's subscriber is kept, nothing is changed, and
    /// `false` is returned: compose [`Logging::layer`] into it instead).
    pub fn try_init(self, telemetry: &Telemetry) -> bool {
        use tracing_subscriber::layer::SubscriberExt as _;
        if tracing::dispatcher::has_been_set() {
            return false;
        }
        let subscriber = tracing_subscriber::registry().with(self.layer(telemetry));
        tracing::subscriber::set_global_default(subscriber).is_ok()
    }
}

/// `Logging::new(format).layer(telemetry)`: the project's layer, to compose with your own
/// subscriber (lines at `INFO` on stdout).
pub fn layer<S>(telemetry: &Telemetry, format: LogFormat) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
{
    Logging::new(format).layer(telemetry)
}
