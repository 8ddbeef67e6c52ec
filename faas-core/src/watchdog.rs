//! When the watchdog of an invocation fires: shortly before the invocation's deadline, early
//! enough that the flush after it still fits ([`WatchdogConfig`]).
//!
//! A platform that hands each invocation a deadline (Lambda: `Lambda-Runtime-Deadline-Ms`)
//! kills the environment when it passes; everything the invocation recorded would die with it.
//! The watchdog ([`crate::invocation::InvocationSpan::watch_deadline`]) fires `margin` before
//! that deadline: it ends the invocation span with error status and `error.type` = `timeout`,
//! counts `faas.timeouts`, ends the spans still open under it as errors and flushes, so the
//! trace reaches the collector before the kill. If the handler finishes after all, nothing is
//! recorded twice.
//!
//! Platforms that send no deadline per request (Azure Functions custom handlers: the host's
//! `functionTimeout` is not passed on; Cloud Run: the service's request timeout is not sent
//! either) get one from `FAAS_OTEL_INVOCATION_TIMEOUT_MS`: set it to the platform's timeout.

use std::time::{Duration, SystemTime};

use crate::env::Env;
use crate::error::ConfigError;
use crate::pipeline::MAX_PLAUSIBLE_REMAINING;

/// How long before the deadline the watchdog fires (ms).
pub const TIMEOUT_MARGIN_VAR: &str = "FAAS_OTEL_TIMEOUT_MARGIN_MS";
/// The invocation timeout of a platform that sends no deadline per request (ms).
pub const INVOCATION_TIMEOUT_VAR: &str = "FAAS_OTEL_INVOCATION_TIMEOUT_MS";
/// Added to the flush budget to make the default margin: the time to end the spans and start
/// the export.
pub const MARGIN_SLACK: Duration = Duration::from_millis(50);

/// The watchdog's settings, read once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchdogConfig {
    /// Fire this long before the deadline. Default: the flush budget
    /// (`FAAS_OTEL_FLUSH_TIMEOUT_MS`) plus [`MARGIN_SLACK`].
    pub margin: Duration,
    /// The deadline of every invocation, counted from its start, where the platform sends
    /// none (`FAAS_OTEL_INVOCATION_TIMEOUT_MS`); `None`: no watchdog there.
    pub invocation_timeout: Option<Duration>,
}

impl WatchdogConfig {
    /// The default for a flush budget of `flush_timeout`: margin `flush_timeout` +
    /// [`MARGIN_SLACK`], no invocation timeout.
    pub fn for_flush_budget(flush_timeout: Duration) -> Self {
        Self {
            margin: flush_timeout.saturating_add(MARGIN_SLACK),
            invocation_timeout: None,
        }
    }

    /// Reads [`TIMEOUT_MARGIN_VAR`] and [`INVOCATION_TIMEOUT_VAR`] from `env`, defaulting as
    /// [`WatchdogConfig::for_flush_budget`]. A value that is not a whole number of
    /// milliseconds up to one hour (an invocation timeout of 0 too) is an error naming the
    /// variable.
    pub fn from_env(env: &Env, flush_timeout: Duration) -> Result<Self, ConfigError> {
        let mut config = Self::for_flush_budget(flush_timeout);
        if let Some(margin) = millis(env, TIMEOUT_MARGIN_VAR)? {
            config.margin = margin;
        }
        config.invocation_timeout = match millis(env, INVOCATION_TIMEOUT_VAR)? {
            Some(timeout) if timeout.is_zero() => {
                return Err(ConfigError::new(
                    INVOCATION_TIMEOUT_VAR,
                    "0",
                    "expected a timeout above 0 ms (unset it for no watchdog)",
                ));
            }
            other => other,
        };
        Ok(config)
    }

    /// As [`WatchdogConfig::from_env`], falling back to the default for a value that cannot be
    /// used (for code that runs after start-up already refused it).
    pub fn from_env_or_default(env: &Env, flush_timeout: Duration) -> Self {
        Self::from_env(env, flush_timeout).unwrap_or_else(|_| Self::for_flush_budget(flush_timeout))
    }

    /// How long after `now` the watchdog of an invocation due at `deadline` fires: `margin`
    /// before it, or half the time left when less than twice the margin is left (a short
    /// invocation still gets its handler most of its time). `None` for a deadline already
    /// past or implausibly far ([`MAX_PLAUSIBLE_REMAINING`]; emulators send 1970): no watchdog.
    pub fn fire_after(&self, deadline: SystemTime, now: SystemTime) -> Option<Duration> {
        let remaining = deadline.duration_since(now).ok()?;
        if remaining.is_zero() || remaining > MAX_PLAUSIBLE_REMAINING {
            return None;
        }
        let margin = self.margin.min(remaining / 2);
        Some(remaining.saturating_sub(margin))
    }
}

fn millis(env: &Env, variable: &str) -> Result<Option<Duration>, ConfigError> {
    match env.get(variable) {
        None => Ok(None),
        Some(value) => match value.trim().parse::<u64>() {
            Ok(ms) if ms <= 3_600_000 => Ok(Some(Duration::from_millis(ms))),
            _ => Err(ConfigError::new(
                variable,
                value,
                "expected a whole number of milliseconds, at most 3600000",
            )),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const FLUSH: Duration = Duration::from_millis(250);

    #[test]
    fn defaults_leave_room_for_the_flush() {
        let config = WatchdogConfig::from_env(&Env::from_pairs::<&str, &str>([]), FLUSH).unwrap();
        assert_eq!(config.margin, Duration::from_millis(300));
        assert_eq!(config.invocation_timeout, None);
        let env = Env::from_pairs([
            (TIMEOUT_MARGIN_VAR, " 120 "),
            (INVOCATION_TIMEOUT_VAR, "30000"),
        ]);
        let config = WatchdogConfig::from_env(&env, FLUSH).unwrap();
        assert_eq!(config.margin, Duration::from_millis(120));
        assert_eq!(config.invocation_timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (variable, value) in [
            (TIMEOUT_MARGIN_VAR, "-1"),
            (TIMEOUT_MARGIN_VAR, "1.5"),
            (TIMEOUT_MARGIN_VAR, "3600001"),
            (INVOCATION_TIMEOUT_VAR, "0"),
            (INVOCATION_TIMEOUT_VAR, "soon"),
        ] {
            let err =
                WatchdogConfig::from_env(&Env::from_pairs([(variable, value)]), FLUSH).unwrap_err();
            assert_eq!(err.variable, variable, "{value}");
            assert_eq!(err.value, value);
        }
    }

    #[test]
    fn fire_time_table() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ms = Duration::from_millis;
        let config = WatchdogConfig::for_flush_budget(FLUSH);
        let cases: &[(&str, SystemTime, Option<Duration>)] = &[
            ("3 s left: margin before", now + ms(3000), Some(ms(2700))),
            ("exactly twice the margin", now + ms(600), Some(ms(300))),
            ("short: half the time", now + ms(200), Some(ms(100))),
            ("deadline now", now, None),
            ("past (1970)", SystemTime::UNIX_EPOCH + ms(5), None),
            (
                "absurd future",
                now + Duration::from_secs(400 * 24 * 3600),
                None,
            ),
        ];
        for (name, deadline, expected) in cases {
            assert_eq!(config.fire_after(*deadline, now), *expected, "{name}");
        }
    }
}
