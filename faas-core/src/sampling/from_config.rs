//! The sampler chosen by `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.

use opentelemetry_sdk::trace::{ParentBasedSampler, Sampler, ShouldSample};

use super::adaptive::AdaptiveSampler;
use super::keep_cold_start::KeepColdStart;
use crate::env::Env;
use crate::error::ConfigError;

/// The variable naming the sampler (OpenTelemetry specification).
pub const SAMPLER_VAR: &str = "OTEL_TRACES_SAMPLER";
/// The variable holding the sampler's argument (OpenTelemetry specification).
pub const SAMPLER_ARG_VAR: &str = "OTEL_TRACES_SAMPLER_ARG";
/// The `OTEL_TRACES_SAMPLER` value selecting the [`AdaptiveSampler`]; its argument is the
/// target number of traces per second (default 1).
pub const ADAPTIVE_SAMPLER_NAME: &str = "faas_otel_adaptive";

/// A sampler as configured by `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`.
///
/// | `OTEL_TRACES_SAMPLER` | Variant | `OTEL_TRACES_SAMPLER_ARG` |
/// |---|---|---|
/// | `always_on` | [`AlwaysOn`](Self::AlwaysOn) | ignored |
/// | `always_off` | [`AlwaysOff`](Self::AlwaysOff) | ignored |
/// | `traceidratio` | [`TraceIdRatio`](Self::TraceIdRatio) | ratio in [0, 1], default 1 |
/// | `parentbased_always_on` (default) | [`ParentBasedAlwaysOn`](Self::ParentBasedAlwaysOn) | ignored |
/// | `parentbased_always_off` | [`ParentBasedAlwaysOff`](Self::ParentBasedAlwaysOff) | ignored |
/// | `parentbased_traceidratio` | [`ParentBasedTraceIdRatio`](Self::ParentBasedTraceIdRatio) | ratio in [0, 1], default 1 |
/// | `faas_otel_adaptive` | [`Adaptive`](Self::Adaptive) | traces per second > 0, default 1 |
///
/// Names are matched ignoring case and surrounding blanks; an empty variable counts as unset.
/// Any other name (`jaeger_remote`, `xray`, ...) and an argument that is not a number in range
/// are rejected with a [`ConfigError`] naming the variable, rather than silently falling back
/// as the specification allows: a function that samples differently from what its
/// configuration says is hard to notice.
///
/// Every sampler [built](Self::build) from it, except `always_off` and
/// `parentbased_always_off`, is wrapped in [`KeepColdStart`], so cold starts are always traced.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum SamplerConfig {
    /// Sample every span.
    AlwaysOn,
    /// Sample nothing (cold starts included).
    AlwaysOff,
    /// Sample this fraction of traces, by trace id, ignoring the parent.
    TraceIdRatio(f64),
    /// Follow the parent; sample every root span.
    #[default]
    ParentBasedAlwaysOn,
    /// Follow the parent; sample no root span (cold starts included).
    ParentBasedAlwaysOff,
    /// Follow the parent; sample this fraction of root spans, by trace id.
    ParentBasedTraceIdRatio(f64),
    /// Follow the parent; keep about this many root traces per second ([`AdaptiveSampler`]).
    Adaptive {
        /// Target number of root traces per second.
        target_per_second: f64,
    },
}

impl SamplerConfig {
    /// Reads [`SAMPLER_VAR`] and [`SAMPLER_ARG_VAR`] from `env`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let Some(raw_name) = env.get(SAMPLER_VAR) else {
            return Ok(Self::default());
        };
        let name = raw_name.trim().to_ascii_lowercase();
        let arg = env.get(SAMPLER_ARG_VAR);
        let config = match name.as_str() {
            "always_on" => Self::AlwaysOn,
            "always_off" => Self::AlwaysOff,
            "traceidratio" => Self::TraceIdRatio(parse_ratio(arg)?),
            "parentbased_always_on" => Self::ParentBasedAlwaysOn,
            "parentbased_always_off" => Self::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => Self::ParentBasedTraceIdRatio(parse_ratio(arg)?),
            ADAPTIVE_SAMPLER_NAME => Self::Adaptive {
                target_per_second: parse_target(arg)?,
            },
            _ => {
                return Err(ConfigError::new(
                    SAMPLER_VAR,
                    raw_name,
                    "expected one of always_on, always_off, traceidratio, parentbased_always_on, \
                     parentbased_always_off, parentbased_traceidratio, faas_otel_adaptive",
                ));
            }
        };
        Ok(config)
    }

    /// The `OTEL_TRACES_SAMPLER` name of this sampler.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AlwaysOn => "always_on",
            Self::AlwaysOff => "always_off",
            Self::TraceIdRatio(_) => "traceidratio",
            Self::ParentBasedAlwaysOn => "parentbased_always_on",
            Self::ParentBasedAlwaysOff => "parentbased_always_off",
            Self::ParentBasedTraceIdRatio(_) => "parentbased_traceidratio",
            Self::Adaptive { .. } => ADAPTIVE_SAMPLER_NAME,
        }
    }

    /// The sampler's argument (ratio or target per second), if it takes one.
    pub fn arg(&self) -> Option<f64> {
        match self {
            Self::TraceIdRatio(ratio) | Self::ParentBasedTraceIdRatio(ratio) => Some(*ratio),
            Self::Adaptive { target_per_second } => Some(*target_per_second),
            _ => None,
        }
    }

    /// Builds the sampler. Parent-based samplers follow a *valid* parent span context; an
    /// invalid one counts as no parent (the SDK's `ParentBasedSampler` semantics).
    pub fn build(&self) -> Box<dyn ShouldSample> {
        match *self {
            Self::AlwaysOn => Box::new(KeepColdStart::new(Sampler::AlwaysOn)),
            Self::AlwaysOff => Box::new(Sampler::AlwaysOff),
            Self::TraceIdRatio(ratio) => {
                Box::new(KeepColdStart::new(Sampler::TraceIdRatioBased(ratio)))
            }
            Self::ParentBasedAlwaysOn => Box::new(KeepColdStart::new(ParentBasedSampler::new(
                Sampler::AlwaysOn,
            ))),
            Self::ParentBasedAlwaysOff => Box::new(ParentBasedSampler::new(Sampler::AlwaysOff)),
            Self::ParentBasedTraceIdRatio(ratio) => Box::new(KeepColdStart::new(
                ParentBasedSampler::new(Sampler::TraceIdRatioBased(ratio)),
            )),
            Self::Adaptive { target_per_second } => {
                Box::new(KeepColdStart::new(AdaptiveSampler::new(target_per_second)))
            }
        }
    }
}

/// Reads the sampler configuration from `env` and builds it: [`SamplerConfig::from_env`]
/// followed by [`SamplerConfig::build`].
pub fn sampler_from_env(env: &Env) -> Result<Box<dyn ShouldSample>, ConfigError> {
    SamplerConfig::from_env(env).map(|config| config.build())
}

fn parse_number(arg: &str) -> Option<f64> {
    arg.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn parse_ratio(arg: Option<String>) -> Result<f64, ConfigError> {
    let Some(arg) = arg else {
        return Ok(1.0);
    };
    match parse_number(&arg) {
        Some(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(ConfigError::new(
            SAMPLER_ARG_VAR,
            arg,
            "expected a sampling ratio between 0 and 1",
        )),
    }
}

fn parse_target(arg: Option<String>) -> Result<f64, ConfigError> {
    let Some(arg) = arg else {
        return Ok(1.0);
    };
    match parse_number(&arg) {
        Some(target) if target > 0.0 => Ok(target),
        _ => Err(ConfigError::new(
            SAMPLER_ARG_VAR,
            arg,
            "expected a target number of traces per second greater than 0",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sampling::decision::ratio_decision;
    use crate::sampling::test_support::{decide, parent, trace_ids};
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::trace::SamplingDecision;
    use opentelemetry_semantic_conventions::attribute::FAAS_COLDSTART;

    fn parse(pairs: &[(&str, &str)]) -> Result<SamplerConfig, ConfigError> {
        SamplerConfig::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn parses_the_specification_names_and_ours() {
        use SamplerConfig::*;
        let table: &[(&[(&str, &str)], SamplerConfig)] = &[
            (&[], ParentBasedAlwaysOn),
            (&[(SAMPLER_VAR, "")], ParentBasedAlwaysOn),
            (&[(SAMPLER_VAR, "always_on")], AlwaysOn),
            (
                &[(SAMPLER_VAR, "always_off"), (SAMPLER_ARG_VAR, "junk")],
                AlwaysOff,
            ),
            (&[(SAMPLER_VAR, "traceidratio")], TraceIdRatio(1.0)),
            (
                &[(SAMPLER_VAR, "traceidratio"), (SAMPLER_ARG_VAR, "0.25")],
                TraceIdRatio(0.25),
            ),
            (
                &[(SAMPLER_VAR, " ParentBased_Always_On ")],
                ParentBasedAlwaysOn,
            ),
            (
                &[(SAMPLER_VAR, "parentbased_always_off")],
                ParentBasedAlwaysOff,
            ),
            (
                &[
                    (SAMPLER_VAR, "parentbased_traceidratio"),
                    (SAMPLER_ARG_VAR, "0"),
                ],
                ParentBasedTraceIdRatio(0.0),
            ),
            (
                &[(SAMPLER_VAR, "parentbased_traceidratio")],
                ParentBasedTraceIdRatio(1.0),
            ),
            (
                &[(SAMPLER_VAR, "faas_otel_adaptive")],
                Adaptive {
                    target_per_second: 1.0,
                },
            ),
            (
                &[
                    (SAMPLER_VAR, "faas_otel_adaptive"),
                    (SAMPLER_ARG_VAR, "2.5"),
                ],
                Adaptive {
                    target_per_second: 2.5,
                },
            ),
        ];
        for (pairs, expected) in table {
            let config = parse(pairs).unwrap();
            assert_eq!(config, *expected, "{pairs:?}");
            // The name round-trips.
            let again = parse(&[(SAMPLER_VAR, config.name())]).unwrap();
            assert_eq!(again.name(), config.name());
        }
        assert_eq!(TraceIdRatio(0.25).arg(), Some(0.25));
        assert_eq!(AlwaysOn.arg(), None);
    }

    #[test]
    fn rejects_unknown_names_and_bad_arguments() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (&[(SAMPLER_VAR, "jaeger_remote")], SAMPLER_VAR),
            (&[(SAMPLER_VAR, "xray")], SAMPLER_VAR),
            (&[(SAMPLER_VAR, "parentbased_jaeger_remote")], SAMPLER_VAR),
            (
                &[(SAMPLER_VAR, "traceidratio"), (SAMPLER_ARG_VAR, "1.5")],
                SAMPLER_ARG_VAR,
            ),
            (
                &[(SAMPLER_VAR, "traceidratio"), (SAMPLER_ARG_VAR, "-0.1")],
                SAMPLER_ARG_VAR,
            ),
            (
                &[
                    (SAMPLER_VAR, "parentbased_traceidratio"),
                    (SAMPLER_ARG_VAR, "half"),
                ],
                SAMPLER_ARG_VAR,
            ),
            (
                &[
                    (SAMPLER_VAR, "parentbased_traceidratio"),
                    (SAMPLER_ARG_VAR, "NaN"),
                ],
                SAMPLER_ARG_VAR,
            ),
            (
                &[(SAMPLER_VAR, "faas_otel_adaptive"), (SAMPLER_ARG_VAR, "0")],
                SAMPLER_ARG_VAR,
            ),
            (
                &[
                    (SAMPLER_VAR, "faas_otel_adaptive"),
                    (SAMPLER_ARG_VAR, "inf"),
                ],
                SAMPLER_ARG_VAR,
            ),
        ];
        for (pairs, variable) in table {
            let err = parse(pairs).unwrap_err();
            assert_eq!(err.variable, *variable, "{pairs:?}");
        }
        assert!(sampler_from_env(&Env::from_pairs([(SAMPLER_VAR, "xray")])).is_err());
    }

    #[test]
    fn built_samplers_keep_cold_starts_except_the_off_ones() {
        let cold = [KeyValue::new(FAAS_COLDSTART, true)];
        let unsampled = parent(false);
        let id = trace_ids(1)[0];
        for config in [
            SamplerConfig::AlwaysOn,
            SamplerConfig::TraceIdRatio(0.0),
            SamplerConfig::ParentBasedAlwaysOn,
            SamplerConfig::ParentBasedTraceIdRatio(0.0),
            SamplerConfig::Adaptive {
                target_per_second: 1.0,
            },
        ] {
            let sampler = config.build();
            assert_eq!(
                decide(sampler.as_ref(), Some(&unsampled), id, &cold).decision,
                SamplingDecision::RecordAndSample,
                "{config:?}"
            );
        }
        for config in [
            SamplerConfig::AlwaysOff,
            SamplerConfig::ParentBasedAlwaysOff,
        ] {
            let sampler = config.build();
            assert_eq!(
                decide(sampler.as_ref(), None, id, &cold).decision,
                SamplingDecision::Drop,
                "{config:?}"
            );
        }
    }

    #[test]
    fn built_samplers_follow_parents_and_ratios() {
        let sampled = parent(true);
        let unsampled = parent(false);
        let parent_based = SamplerConfig::ParentBasedTraceIdRatio(0.3).build();
        let ratio = SamplerConfig::TraceIdRatio(0.3).build();
        for id in trace_ids(500) {
            let d = |s: &dyn ShouldSample, p| decide(s, p, id, &[]).decision;
            assert_eq!(d(parent_based.as_ref(), None), ratio_decision(0.3, id));
            assert_eq!(
                d(parent_based.as_ref(), Some(&sampled)),
                SamplingDecision::RecordAndSample
            );
            assert_eq!(
                d(parent_based.as_ref(), Some(&unsampled)),
                SamplingDecision::Drop
            );
            // traceidratio ignores the parent.
            assert_eq!(d(ratio.as_ref(), Some(&unsampled)), ratio_decision(0.3, id));
        }
        let off = SamplerConfig::ParentBasedAlwaysOff.build();
        assert_eq!(
            decide(off.as_ref(), Some(&sampled), trace_ids(1)[0], &[]).decision,
            SamplingDecision::RecordAndSample
        );
    }
}
