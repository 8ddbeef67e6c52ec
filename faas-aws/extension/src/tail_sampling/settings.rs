//! The tail sampler's settings: [`SamplingMode`] and the `FAAS_OTEL_EXTENSION_KEEP*` variables
//! (named when tail sampling was called "keep rules"; kept for compatibility).

/// `all` (default: keep everything) or `decide` (apply tail sampling).
pub(crate) const MODE_VAR: &str = "FAAS_OTEL_EXTENSION_KEEP";
/// Traces covering at least this many milliseconds are kept (default [`DEFAULT_SLOW_MS`]).
pub(crate) const SLOW_MS_VAR: &str = "FAAS_OTEL_EXTENSION_KEEP_SLOW_MS";
/// Target traces per second kept among the others (default [`DEFAULT_RATE`]).
pub(crate) const RATE_VAR: &str = "FAAS_OTEL_EXTENSION_KEEP_RATE";
/// Default of [`SLOW_MS_VAR`].
pub(crate) const DEFAULT_SLOW_MS: u64 = 1000;
/// Default of [`RATE_VAR`].
pub(crate) const DEFAULT_RATE: f64 = 1.0;
/// How many trace decisions are remembered.
pub(crate) const REMEMBERED_TRACES: usize = 4096;

/// What [`TailSampler`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SamplingMode {
    /// Keep everything (`all`).
    #[default]
    All,
    /// Apply the tail sampling (`decide`).
    Decide,
}
