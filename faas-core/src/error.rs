//! Error types of faas-core.

/// A configuration value that could not be used.
///
/// Every error names the variable (or setting) it came from, the value that was read and why it
/// was rejected, so that a misconfigured function says exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value:?} for {variable}: {reason}")]
pub struct ConfigError {
    /// The environment variable or setting that held the bad value.
    pub variable: String,
    /// The value as it was read.
    pub value: String,
    /// Why it was rejected, and what is accepted instead.
    pub reason: String,
}

impl ConfigError {
    /// Builds an error for `variable` holding `value`, rejected for `reason`.
    pub fn new(
        variable: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            variable: variable.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Errors raised while building the telemetry pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
}

/// Why a provider's `serve` (`faas_aws::serve`, `faas_azure::serve`, `faas_gcp::serve`, their
/// `Server`s and `faas_aws::run`) could not start or stopped: the same type on every provider,
/// so switching provider changes no signature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The telemetry could not be built (a bad `OTEL_*` or `FAAS_OTEL_*` value).
    #[error(transparent)]
    Telemetry(#[from] Error),
    /// A platform setting could not be used (a bad port variable, a host.json or
    /// function.json that is not JSON, ...).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The process is not run the way the platform runs functions (for example no Lambda
    /// Runtime API); the message says what is missing and how to run it.
    #[error("{0}")]
    NotOnPlatform(String),
    /// Binding or serving HTTP failed.
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
    /// The platform's runtime client failed (the Lambda runtime loop).
    #[error("runtime: {0}")]
    Runtime(Box<dyn std::error::Error + Send + Sync>),
}
