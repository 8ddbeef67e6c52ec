//! The lines `serve` writes (through [`faas_core::logging`]): one JSON object per line on
//! stdout, which the Functions host records as the function's log, with the host's
//! invocation id (`X-Azure-Functions-InvocationId`) and the trace context:
//!
//! ```json
//! {"timestamp":"2026-12-01T10:00:00.000Z","level":"INFO","message":"order accepted","invocationId":"c0ffee…","traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","target":"azure_http","order_id":"42"}
//! ```
//!
//! The level follows `RUST_LOG` (default `INFO`).

use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::logging::{InvocationIdKey, JsonStyle, LogFormat, Logging};

/// The JSON format: `invocationId`, `traceId`, `spanId`.
pub fn log_format() -> LogFormat {
    LogFormat::Json(JsonStyle {
        invocation_id_key: InvocationIdKey::TopLevel("invocationId"),
        ..JsonStyle::default()
    })
}

/// The logging `serve` installs: [`log_format`] on stdout behind `RUST_LOG`.
pub fn logging(env: &Env) -> Result<Logging, ConfigError> {
    Logging::from_env(log_format(), env)
}
