//! Lambda's log format for the lines `run`, `run_http` and `serve` write (through
//! [`faas_core::logging`]): every line carries the invocation's request id, trace id and span
//! id.
//!
//! - `AWS_LAMBDA_LOG_FORMAT=JSON` (Lambda's advanced logging controls): one JSON object per
//!   line, the keys of Lambda's own JSON lines (`timestamp`, `level`, `message`, `requestId`)
//!   plus `traceId` and `spanId` (32 and 16 lower-case hex digits, the W3C/OpenTelemetry ids of
//!   the active span, as Powertools' `xray_trace_id` is for X-Ray), the event's `target` and
//!   its own fields at the top level:
//!
//!   ```json
//!   {"timestamp":"2026-12-01T10:00:00.000Z","level":"INFO","message":"order accepted","requestId":"8f5e…","traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","target":"aws_http_api","order_id":"42"}
//!   ```
//! - otherwise (`Text`, the default) Lambda's text layout,
//!   `timestamp<TAB>requestId<TAB>LEVEL<TAB>target: message key=value traceId=… spanId=…`.
//!
//! The level: `AWS_LAMBDA_LOG_LEVEL` (`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`) when
//! set, as `lambda_runtime`'s own subscriber does, else `RUST_LOG`, else `INFO`.

use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::logging::{InvocationIdKey, JsonStyle, LogFormat, Logging, Targets, TextStyle};

/// `JSON` or `Text` (Lambda's advanced logging controls).
pub const LOG_FORMAT_VAR: &str = "AWS_LAMBDA_LOG_FORMAT";
/// The function's log level (Lambda's advanced logging controls).
pub const LOG_LEVEL_VAR: &str = "AWS_LAMBDA_LOG_LEVEL";

/// The format `AWS_LAMBDA_LOG_FORMAT` asks for; see the [module docs](self).
pub fn log_format(env: &Env) -> LogFormat {
    let json = env
        .get(LOG_FORMAT_VAR)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("json"));
    if json {
        LogFormat::Json(JsonStyle {
            invocation_id_key: InvocationIdKey::TopLevel("requestId"),
            ..JsonStyle::default()
        })
    } else {
        LogFormat::Text(TextStyle::default())
    }
}

/// `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `INFO`.
pub fn log_filter(env: &Env) -> Result<Targets, ConfigError> {
    match env.get(LOG_LEVEL_VAR) {
        Some(level) if !level.trim().is_empty() => faas_core::logging::parse_level(&level)
            .map(|level| Targets::new().with_default(level))
            .ok_or_else(|| {
                ConfigError::new(
                    LOG_LEVEL_VAR,
                    level,
                    "expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL",
                )
            }),
        _ => faas_core::logging::filter_from_env(env),
    }
}

/// The logging `run`/`serve` install: [`log_format`] on stdout behind [`log_filter`].
pub fn logging(env: &Env) -> Result<Logging, ConfigError> {
    Ok(Logging::new(log_format(env)).with_filter(log_filter(env)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faas_core::logging::Level;

    #[test]
    fn format_and_level_table() {
        let json = Env::from_pairs([(LOG_FORMAT_VAR, "JSON")]);
        assert!(
            matches!(log_format(&json), LogFormat::Json(s) if s.invocation_id_key == InvocationIdKey::TopLevel("requestId"))
        );
        for text in [
            Env::from_pairs([(LOG_FORMAT_VAR, "Text")]),
            Env::from_pairs::<&str, &str>([]),
        ] {
            assert!(matches!(log_format(&text), LogFormat::Text(_)));
        }
        type Case<'a> = (&'a [(&'a str, &'a str)], Level, bool);
        let cases: &[Case<'_>] = &[
            (&[], Level::INFO, true),
            (&[], Level::DEBUG, false),
            (
                &[(LOG_LEVEL_VAR, "DEBUG"), ("RUST_LOG", "error")],
                Level::DEBUG,
                true,
            ),
            (&[(LOG_LEVEL_VAR, "FATAL")], Level::WARN, false),
            (&[("RUST_LOG", "warn")], Level::INFO, false),
            (
                &[(LOG_LEVEL_VAR, " "), ("RUST_LOG", "trace")],
                Level::TRACE,
                true,
            ),
        ];
        for (pairs, level, enabled) in cases {
            let filter = log_filter(&Env::from_pairs(pairs.iter().copied())).unwrap();
            assert_eq!(
                filter.would_enable("orders", level),
                *enabled,
                "{pairs:?} {level}"
            );
        }
        let err = log_filter(&Env::from_pairs([(LOG_LEVEL_VAR, "LOUD")])).unwrap_err();
        assert_eq!(
            (err.variable.as_str(), err.value.as_str()),
            (LOG_LEVEL_VAR, "LOUD")
        );
    }
}
