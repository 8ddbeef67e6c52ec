//! The exporter's back-off: after a collector refused, failed transiently or stalled, no
//! export is attempted until an interval has passed, so an invocation during an outage costs
//! next to nothing and a stalled collector costs one flush budget, not one per invocation.
//!
//! The interval starts at `FAAS_OTEL_EXPORT_BACKOFF_MS` (default 1000 ms), doubles after each
//! further failure up to `FAAS_OTEL_EXPORT_BACKOFF_MAX_MS` (default 30000 ms), and goes back
//! to nothing after a success. It has no jitter: one function process has one exporter, there
//! is no herd to spread. An initial interval of 0 turns the back-off off.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::env::Env;
use crate::error::ConfigError;

/// Default first interval after a failure.
pub(crate) const DEFAULT_INITIAL: Duration = Duration::from_millis(1000);
/// Default longest interval.
pub(crate) const DEFAULT_MAX: Duration = Duration::from_millis(30_000);
/// The variable of the first interval.
pub(crate) const INITIAL_VARIABLE: &str = "FAAS_OTEL_EXPORT_BACKOFF_MS";
/// The variable of the longest interval.
pub(crate) const MAX_VARIABLE: &str = "FAAS_OTEL_EXPORT_BACKOFF_MAX_MS";
/// No setting beyond an hour is believed.
const LONGEST: u64 = 3_600_000;

/// The back-off bounds, read once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackoffSettings {
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
}

impl Default for BackoffSettings {
    fn default() -> Self {
        Self {
            initial: DEFAULT_INITIAL,
            max: DEFAULT_MAX,
        }
    }
}

impl BackoffSettings {
    /// Reads `FAAS_OTEL_EXPORT_BACKOFF_MS` and `FAAS_OTEL_EXPORT_BACKOFF_MAX_MS`. A maximum
    /// below the initial interval is raised to it.
    pub(crate) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let initial = millis(env, INITIAL_VARIABLE)?.unwrap_or(DEFAULT_INITIAL);
        let max = millis(env, MAX_VARIABLE)?.unwrap_or(DEFAULT_MAX.max(initial));
        Ok(Self {
            initial,
            max: max.max(initial),
        })
    }
}

fn millis(env: &Env, variable: &str) -> Result<Option<Duration>, ConfigError> {
    let Some(value) = env.get(variable) else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(ms) if ms <= LONGEST => Ok(Some(Duration::from_millis(ms))),
        _ => Err(ConfigError::new(
            variable,
            value,
            "expected a whole number of milliseconds, at most 3600000 (one hour)",
        )),
    }
}

#[derive(Debug, Default)]
struct State {
    /// Failures in a row.
    failures: u32,
    /// No attempt before this instant.
    until: Option<Instant>,
}

/// The back-off state of one exporter.
#[derive(Debug)]
pub(crate) struct Backoff {
    settings: BackoffSettings,
    state: Mutex<State>,
}

impl Backoff {
    pub(crate) fn new(settings: BackoffSettings) -> Self {
        Self {
            settings,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// `None` when an attempt may be made at `now`; otherwise how long until one may.
    pub(crate) fn wait_at(&self, now: Instant) -> Option<Duration> {
        self.state()
            .until
            .map(|until| until.saturating_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Records a failure at `now`; returns the interval before the next attempt.
    pub(crate) fn failed(&self, now: Instant) -> Duration {
        let mut state = self.state();
        state.failures = state.failures.saturating_add(1);
        let interval = interval(self.settings, state.failures);
        state.until = now.checked_add(interval);
        interval
    }

    /// Records a success (or an answer that says the collector is up): no back-off.
    pub(crate) fn succeeded(&self) {
        *self.state() = State::default();
    }
}

/// The interval after `failures` failures in a row: `initial * 2^(failures - 1)`, at most
/// `max`, without overflow.
fn interval(settings: BackoffSettings, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1);
    let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
    settings
        .initial
        .checked_mul(factor)
        .unwrap_or(settings.max)
        .min(settings.max)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_interval_doubles_up_to_the_cap_without_overflow() {
        let s = BackoffSettings {
            initial: MS(100),
            max: MS(1000),
        };
        let got: Vec<_> = [1, 2, 3, 4, 5, 31, 32, 33, u32::MAX]
            .iter()
            .map(|&n| interval(s, n))
            .collect();
        assert_eq!(
            got,
            [
                MS(100),
                MS(200),
                MS(400),
                MS(800),
                MS(1000),
                MS(1000),
                MS(1000),
                MS(1000),
                MS(1000)
            ]
        );
        let huge = BackoffSettings {
            initial: Duration::MAX,
            max: Duration::MAX,
        };
        assert_eq!(interval(huge, 40), Duration::MAX);
    }

    #[test]
    fn failures_defer_until_the_interval_passed_and_a_success_resets() {
        let backoff = Backoff::new(BackoffSettings {
            initial: MS(100),
            max: MS(1000),
        });
        let t0 = Instant::now();
        assert_eq!(backoff.wait_at(t0), None);
        assert_eq!(backoff.failed(t0), MS(100));
        assert_eq!(backoff.wait_at(t0 + MS(40)), Some(MS(60)));
        assert_eq!(
            backoff.wait_at(t0 + MS(100)),
            None,
            "probe after the interval"
        );
        assert_eq!(backoff.failed(t0 + MS(100)), MS(200));
        assert_eq!(backoff.wait_at(t0 + MS(299)), Some(MS(1)));
        backoff.succeeded();
        assert_eq!(backoff.wait_at(t0 + MS(101)), None);
        assert_eq!(backoff.failed(t0), MS(100), "the interval starts over");
    }

    #[test]
    fn a_zero_initial_interval_never_defers() {
        let backoff = Backoff::new(BackoffSettings {
            initial: Duration::ZERO,
            max: Duration::ZERO,
        });
        let t0 = Instant::now();
        backoff.failed(t0);
        backoff.failed(t0);
        assert_eq!(backoff.wait_at(t0), None);
    }

    #[test]
    fn settings_from_the_environment() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        assert_eq!(
            BackoffSettings::from_env(&env(&[])).unwrap(),
            BackoffSettings::default()
        );
        let s = BackoffSettings::from_env(&env(&[
            ("FAAS_OTEL_EXPORT_BACKOFF_MS", "50"),
            ("FAAS_OTEL_EXPORT_BACKOFF_MAX_MS", "400"),
        ]))
        .unwrap();
        assert_eq!((s.initial, s.max), (MS(50), MS(400)));
        let raised =
            BackoffSettings::from_env(&env(&[("FAAS_OTEL_EXPORT_BACKOFF_MS", "60000")])).unwrap();
        assert_eq!(
            raised.max,
            MS(60000),
            "the cap is at least the initial interval"
        );
        for bad in ["-1", "1.5", "soon", "3600001"] {
            let err = BackoffSettings::from_env(&env(&[("FAAS_OTEL_EXPORT_BACKOFF_MS", bad)]))
                .unwrap_err();
            assert_eq!(err.variable, "FAAS_OTEL_EXPORT_BACKOFF_MS");
        }
    }
}
