//! Cloud Logging's structured JSON for the lines `serve` writes (through
//! [`faas_core::logging`]): a JSON line on stdout becomes a structured entry, and these fields
//! tie it to Cloud Trace:
//!
//! ```json
//! {"timestamp":"2026-12-01T10:00:00.000Z","severity":"INFO","message":"order accepted","logging.googleapis.com/labels":{"execution_id":"abc123"},"logging.googleapis.com/trace":"projects/my-project/traces/0af7651916cd43dd8448eb211c80319c","logging.googleapis.com/spanId":"b7ad6b7169203331","logging.googleapis.com/trace_sampled":true,"target":"gcp_http","order_id":"42"}
//! ```
//!
//! The project is the resource's `cloud.account.id` (from the metadata server), else
//! `GOOGLE_CLOUD_PROJECT`; without one the trace field holds the bare trace id. The execution
//! id (`Function-Execution-Id`, or the CloudEvent's id) is the entry's `execution_id` label.
//! The level follows `RUST_LOG` (default `INFO`).

use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::logging::Level;
use faas_core::logging::{InvocationIdKey, JsonStyle, LogFormat, Logging};
use faas_core::pipeline::Telemetry;
use opentelemetry::Key;
use opentelemetry_semantic_conventions::attribute::CLOUD_ACCOUNT_ID;

/// The project variable read when the resource has no `cloud.account.id`.
pub const PROJECT_VAR: &str = "GOOGLE_CLOUD_PROJECT";

/// Cloud Logging's `LogSeverity` names.
pub fn severity(level: Level) -> &'static str {
    match level {
        Level::TRACE | Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARNING",
        Level::ERROR => "ERROR",
    }
}

/// The structured format for `project` (`None`: bare trace ids).
pub fn log_format(project: Option<&str>) -> LogFormat {
    LogFormat::Json(JsonStyle {
        level_key: "severity",
        level_name: severity,
        invocation_id_key: InvocationIdKey::Within("logging.googleapis.com/labels", "execution_id"),
        trace_id_key: "logging.googleapis.com/trace",
        trace_id_prefix: project
            .map(|p| format!("projects/{p}/traces/"))
            .unwrap_or_default(),
        span_id_key: "logging.googleapis.com/spanId",
        trace_sampled_key: Some("logging.googleapis.com/trace_sampled"),
        ..JsonStyle::default()
    })
}

/// The project of `telemetry`'s resource, else `GOOGLE_CLOUD_PROJECT` from `env`.
pub fn project(telemetry: &Telemetry, env: &Env) -> Option<String> {
    telemetry
        .resource()
        .get(&Key::from_static_str(CLOUD_ACCOUNT_ID))
        .map(|v| v.to_string())
        .or_else(|| env.get(PROJECT_VAR))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
}

/// The logging `serve` installs: [`log_format`] for the telemetry's project, on stdout,
/// behind `RUST_LOG`.
pub fn logging(telemetry: &Telemetry, env: &Env) -> Result<Logging, ConfigError> {
    Logging::from_env(log_format(project(telemetry, env).as_deref()), env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_and_trace_prefix() {
        assert_eq!(
            [
                Level::TRACE,
                Level::DEBUG,
                Level::INFO,
                Level::WARN,
                Level::ERROR
            ]
            .map(severity),
            ["DEBUG", "DEBUG", "INFO", "WARNING", "ERROR"]
        );
        let LogFormat::Json(style) = log_format(Some("p-1")) else {
            panic!("JSON expected");
        };
        assert_eq!(style.trace_id_prefix, "projects/p-1/traces/");
        let LogFormat::Json(bare) = log_format(None) else {
            panic!("JSON expected");
        };
        assert_eq!(bare.trace_id_prefix, "");
    }
}
