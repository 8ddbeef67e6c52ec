//! Which events become log lines: `RUST_LOG` (target=level directives), or one level.

use tracing_subscriber::filter::{LevelFilter, Targets};

use crate::env::Env;
use crate::error::ConfigError;

/// The variable of the standard `tracing`/`env_logger` filter.
pub const RUST_LOG: &str = "RUST_LOG";

/// The level used when nothing is configured.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::INFO;

/// `RUST_LOG` from `env` (`info`, `warn,orders=debug`, ...), [`DEFAULT_LEVEL`] when unset or
/// empty. Span and field directives (`[span{field}]=debug`) are not supported: they are an
/// error naming the variable.
pub fn filter_from_env(env: &Env) -> Result<Targets, ConfigError> {
    match env.get(RUST_LOG) {
        Some(value) if !value.trim().is_empty() => parse_directives(RUST_LOG, &value),
        _ => Ok(Targets::new().with_default(DEFAULT_LEVEL)),
    }
}

/// `target=level` directives separated by commas, a bare level being the default
/// (`RUST_LOG` syntax without span and field filters); `variable` names the source in errors.
pub fn parse_directives(variable: &str, value: &str) -> Result<Targets, ConfigError> {
    if let Some(level) = parse_level(value) {
        return Ok(Targets::new().with_default(level));
    }
    let unsupported =
        "expected a level or target=level directives; span and field filters are not supported";
    if value.contains(['[', ']', '{', '}']) {
        return Err(ConfigError::new(variable, value, unsupported));
    }
    value
        .trim()
        .parse::<Targets>()
        .map_err(|e| ConfigError::new(variable, value, format!("{unsupported} ({e})")))
}

/// One level name, any case: `TRACE`, `DEBUG`, `INFO`, `WARN`/`WARNING`, `ERROR`,
/// `FATAL`/`CRITICAL` (as `ERROR`), `OFF`.
pub fn parse_level(value: &str) -> Option<LevelFilter> {
    match value.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some(LevelFilter::TRACE),
        "DEBUG" => Some(LevelFilter::DEBUG),
        "INFO" => Some(LevelFilter::INFO),
        "WARN" | "WARNING" => Some(LevelFilter::WARN),
        "ERROR" | "FATAL" | "CRITICAL" => Some(LevelFilter::ERROR),
        "OFF" => Some(LevelFilter::OFF),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_table() {
        let cases: &[(&str, &str, Level, bool)] = &[
            ("", "orders", Level::INFO, true),
            ("", "orders", Level::DEBUG, false),
            ("debug", "orders", Level::DEBUG, true),
            ("fatal", "orders", Level::WARN, false),
            ("fatal", "orders", Level::ERROR, true),
            ("warn,orders=debug", "orders::db", Level::DEBUG, true),
            ("warn,orders=debug", "hyper", Level::INFO, false),
            ("orders=trace", "hyper", Level::ERROR, false),
        ];
        for (value, target, level, enabled) in cases {
            let env = Env::from_pairs([(RUST_LOG, *value)]);
            let filter = filter_from_env(&env).unwrap();
            assert_eq!(
                filter.would_enable(target, level),
                *enabled,
                "{value:?} {target} {level}"
            );
        }
        let err = filter_from_env(&Env::from_pairs([(RUST_LOG, "[span{a}]=debug")])).unwrap_err();
        assert_eq!(err.variable, RUST_LOG);
        assert!(parse_directives("X", "a=loud").is_err());
    }
}
