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
pub enum Error {
    /// A configuration value was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
}
