//! Estimated cost of one invocation, from a provider-neutral price table.
//!
//! Serverless platforms bill an invocation as *compute* (memory × time, sometimes plus
//! vCPU × time) plus a flat *request* charge. Each provider rounds differently: the billed
//! duration is rounded up to a granularity (1 ms, 100 ms, ...) and may have a minimum, and the
//! billed memory may be rounded up to a step (128 MB on Azure Functions Consumption). A
//! [`PricePlan`] captures all of that as data, so the provider crates only supply numbers and
//! this module does the arithmetic once.
//!
//! ```
//! use std::time::Duration;
//! use faas_core::cost::{Architecture, BillingInput, CostModel, MemoryUnit, PricePlan};
//!
//! // $0.00001 per GB-second, $0.0000002 per request, per 1 ms, 128 MB steps.
//! let plan = PricePlan {
//!     memory_step_mb: 128,
//!     ..PricePlan::per_gb_second("example", 0.00001, 0.0000002)
//! };
//! assert_eq!(plan.memory_unit, MemoryUnit::BinaryGb);
//! let input = BillingInput::new(Duration::from_secs(2), 512).with_architecture(Architecture::X86_64);
//! let estimate = plan.estimate(&input);
//! // 2 s × 0.5 GB × $0.00001 + $0.0000002
//! assert!((estimate.total_usd - 0.0000102).abs() < 1e-15);
//! ```
//!
//! # What the estimate covers
//!
//! The estimate is for the **invocation only**: the time the handler ran for this request and
//! the request charge. The initialization (INIT) phase of a cold start is *not* included, even
//! on platforms that bill it (AWS Lambda bills INIT for on-demand functions): its duration
//! belongs to the execution environment, not to one request, and is only known precisely from
//! platform reports. To price it, call [`CostModel::estimate`] with the INIT duration and use
//! [`CostEstimate::compute_usd`] (there is no request charge for INIT).
//!
//! Free tiers, savings plans, regional price differences and network or storage charges are not
//! modelled; list prices can be overridden per deployment with [`PricePlan::with_overrides`].

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use opentelemetry::KeyValue;

use crate::attributes;
use crate::env::Env;
use crate::error::ConfigError;

/// Overrides [`PricePlan::gb_second_usd`]: USD per GB-second (x86_64).
pub const PRICE_GB_SECOND_VAR: &str = "FAAS_OTEL_PRICE_GB_SECOND";
/// Overrides [`PricePlan::gb_second_usd_arm64`]: USD per GB-second on arm64.
pub const PRICE_GB_SECOND_ARM64_VAR: &str = "FAAS_OTEL_PRICE_GB_SECOND_ARM64";
/// Overrides [`PricePlan::vcpu_second_usd`]: USD per vCPU-second.
pub const PRICE_VCPU_SECOND_VAR: &str = "FAAS_OTEL_PRICE_VCPU_SECOND";
/// Overrides [`PricePlan::request_usd`]: USD per single request (not per million).
pub const PRICE_REQUEST_VAR: &str = "FAAS_OTEL_PRICE_REQUEST";
/// Overrides [`PricePlan::duration_granularity`]: a whole number of milliseconds (0 = no
/// rounding).
pub const BILLING_GRANULARITY_MS_VAR: &str = "FAAS_OTEL_BILLING_GRANULARITY_MS";

const MB_PER_BINARY_GB: f64 = 1024.0;
const MB_PER_DECIMAL_GB: f64 = 1000.0;

/// Processor architecture of the function, which some providers price differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Architecture {
    /// x86_64 (also called amd64).
    X86_64,
    /// 64-bit ARM (also called aarch64; AWS Graviton).
    Arm64,
}

impl Architecture {
    /// The architecture this binary was compiled for (`aarch64` → [`Architecture::Arm64`],
    /// anything else → [`Architecture::X86_64`]).
    pub fn current() -> Self {
        if cfg!(target_arch = "aarch64") {
            Self::Arm64
        } else {
            Self::X86_64
        }
    }

    /// The name used in attributes: `x86_64` or `arm64`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

impl Default for Architecture {
    fn default() -> Self {
        Self::current()
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text given to [`Architecture::from_str`] names no known architecture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture {0:?}: expected x86_64, amd64, arm64 or aarch64")]
pub struct UnknownArchitecture(pub String);

impl FromStr for Architecture {
    type Err = UnknownArchitecture;

    /// Accepts `x86_64`, `amd64`, `arm64` and `aarch64`, ignoring case and surrounding blanks.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x86_64" | "amd64" => Ok(Self::X86_64),
            "arm64" | "aarch64" => Ok(Self::Arm64),
            _ => Err(UnknownArchitecture(s.to_owned())),
        }
    }
}

/// What was consumed by one invocation: the input of a [`CostModel`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BillingInput {
    /// Measured duration of the invocation, before any rounding.
    pub duration: Duration,
    /// Memory in MB (as configured, or as used on plans that bill observed memory).
    pub memory_mb: u64,
    /// Processor architecture of the function.
    pub architecture: Architecture,
    /// Number of vCPUs allocated, for plans that bill vCPU-seconds; `None` uses the plan's
    /// [`PricePlan::default_vcpus`].
    pub vcpus: Option<f64>,
}

impl BillingInput {
    /// An input for `duration` at `memory_mb`, on the [current](Architecture::current)
    /// architecture, with the plan's default vCPUs.
    pub fn new(duration: Duration, memory_mb: u64) -> Self {
        Self {
            duration,
            memory_mb,
            architecture: Architecture::current(),
            vcpus: None,
        }
    }

    /// Sets the architecture.
    pub fn with_architecture(mut self, architecture: Architecture) -> Self {
        self.architecture = architecture;
        self
    }

    /// Sets the number of vCPUs.
    pub fn with_vcpus(mut self, vcpus: f64) -> Self {
        self.vcpus = Some(vcpus);
        self
    }
}

/// Estimated cost of one invocation, with the quantities it billed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostEstimate {
    /// `compute_usd + request_usd`.
    pub total_usd: f64,
    /// Memory-time and vCPU-time charge.
    pub compute_usd: f64,
    /// Flat per-request charge.
    pub request_usd: f64,
    /// Duration billed, after rounding and minimum.
    pub billed_duration: Duration,
    /// Memory billed in MB, after rounding.
    pub billed_memory_mb: u64,
    /// Architecture priced.
    pub architecture: Architecture,
}

impl CostEstimate {
    /// The estimate as span attributes: [`attributes::COST_USD`],
    /// [`attributes::COST_COMPUTE_USD`], [`attributes::COST_REQUEST_USD`],
    /// [`attributes::COST_BILLED_DURATION_MS`] (integer ms), [`attributes::COST_BILLED_MEMORY_MB`]
    /// and [`attributes::COST_ARCHITECTURE`]. Integers too large for `i64` saturate.
    pub fn attributes(&self) -> Vec<KeyValue> {
        let billed_ms = i64::try_from(self.billed_duration.as_millis()).unwrap_or(i64::MAX);
        let billed_mb = i64::try_from(self.billed_memory_mb).unwrap_or(i64::MAX);
        vec![
            KeyValue::new(attributes::COST_USD, self.total_usd),
            KeyValue::new(attributes::COST_COMPUTE_USD, self.compute_usd),
            KeyValue::new(attributes::COST_REQUEST_USD, self.request_usd),
            KeyValue::new(attributes::COST_BILLED_DURATION_MS, billed_ms),
            KeyValue::new(attributes::COST_BILLED_MEMORY_MB, billed_mb),
            KeyValue::new(attributes::COST_ARCHITECTURE, self.architecture.as_str()),
        ]
    }
}

/// Turns what an invocation consumed into an estimated cost.
///
/// Implementations must not panic for any input (zero memory, zero or huge durations).
pub trait CostModel: Send + Sync + fmt::Debug {
    /// Estimates the cost of one invocation (not including initialization; see the
    /// [module documentation](self)).
    fn estimate(&self, input: &BillingInput) -> CostEstimate;
}

/// How many MB make the "GB" of a plan's GB-second price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemoryUnit {
    /// 1 GB = 1024 MB. This is the unit of AWS Lambda and Azure Functions ("GB-second" is
    /// computed as `memory_mb / 1024`) and numerically the same as the GiB-second of Cloud Run
    /// (memory configured in MiB, divided by 1024). All provider plans of this project use it.
    BinaryGb,
    /// 1 GB = 1000 MB, for a plan that prices decimal gigabytes.
    DecimalGb,
}

impl MemoryUnit {
    /// MB per unit: 1024 or 1000.
    pub fn mb_per_unit(&self) -> f64 {
        match self {
            Self::BinaryGb => MB_PER_BINARY_GB,
            Self::DecimalGb => MB_PER_DECIMAL_GB,
        }
    }
}

/// A provider-neutral price table: every number a pay-per-use serverless plan bills with.
///
/// The estimate is
///
/// ```text
/// billed_duration = max(round_up(duration, duration_granularity), minimum_duration)
/// billed_memory   = round_up(memory_mb, memory_step_mb)
/// compute = seconds(billed_duration) × billed_memory / mb_per_unit × GB-second price
///         + seconds(billed_duration) × vCPUs × vcpu_second_usd
/// total   = compute + request_usd
/// ```
///
/// A zero `duration_granularity` or a `memory_step_mb` of 0 or 1 means no rounding. Negative or
/// NaN prices and vCPU counts count as zero. Provider crates publish their list prices as
/// functions returning a `PricePlan`; deployments adjust them with [`PricePlan::with_overrides`].
#[derive(Debug, Clone, PartialEq)]
pub struct PricePlan {
    /// Name of the plan, for diagnostics (e.g. `aws_lambda`).
    pub name: Cow<'static, str>,
    /// USD per GB-second on x86_64 (and on arm64 when `gb_second_usd_arm64` is `None`).
    pub gb_second_usd: f64,
    /// USD per GB-second on arm64; `None` falls back to `gb_second_usd`.
    pub gb_second_usd_arm64: Option<f64>,
    /// USD per vCPU-second; `None` when vCPU time is not billed separately.
    pub vcpu_second_usd: Option<f64>,
    /// What "GB" means in `gb_second_usd`.
    pub memory_unit: MemoryUnit,
    /// USD per single request (e.g. $0.20 per million = `0.0000002`).
    pub request_usd: f64,
    /// The billed duration is rounded up to a multiple of this; zero = no rounding.
    pub duration_granularity: Duration,
    /// The smallest billed duration.
    pub minimum_duration: Duration,
    /// The billed memory is rounded up to a multiple of this many MB; 0 or 1 = exact.
    pub memory_step_mb: u64,
    /// vCPUs billed when [`BillingInput::vcpus`] is `None`.
    pub default_vcpus: Option<f64>,
}

impl PricePlan {
    /// A plan that bills memory time and requests only: `gb_second_usd` per GB-second
    /// ([`MemoryUnit::BinaryGb`], `memory_mb / 1024`) on both architectures and `request_usd`
    /// per request; duration per 1 ms, rounded up, with no minimum; memory as given; no vCPU
    /// price. Plans that bill differently change the other fields with struct update syntax
    /// (`PricePlan { memory_step_mb: 128, ..PricePlan::per_gb_second(..) }`).
    pub fn per_gb_second(
        name: impl Into<Cow<'static, str>>,
        gb_second_usd: f64,
        request_usd: f64,
    ) -> Self {
        Self {
            name: name.into(),
            gb_second_usd,
            gb_second_usd_arm64: None,
            vcpu_second_usd: None,
            memory_unit: MemoryUnit::BinaryGb,
            request_usd,
            duration_granularity: Duration::from_millis(1),
            minimum_duration: Duration::ZERO,
            memory_step_mb: 1,
            default_vcpus: None,
        }
    }

    /// Applies the overrides set in `env`:
    ///
    /// | Variable | Field | Format |
    /// |---|---|---|
    /// | `FAAS_OTEL_PRICE_GB_SECOND` | [`gb_second_usd`](Self::gb_second_usd) | USD, ≥ 0 |
    /// | `FAAS_OTEL_PRICE_GB_SECOND_ARM64` | [`gb_second_usd_arm64`](Self::gb_second_usd_arm64) | USD, ≥ 0 |
    /// | `FAAS_OTEL_PRICE_VCPU_SECOND` | [`vcpu_second_usd`](Self::vcpu_second_usd) | USD, ≥ 0 |
    /// | `FAAS_OTEL_PRICE_REQUEST` | [`request_usd`](Self::request_usd) | USD per request, ≥ 0 |
    /// | `FAAS_OTEL_BILLING_GRANULARITY_MS` | [`duration_granularity`](Self::duration_granularity) | whole ms, ≥ 0 |
    ///
    /// Unset or empty variables leave the field unchanged. Overriding the x86_64 price does not
    /// change an arm64 price the plan already has. Negative, NaN, infinite or non-numeric values
    /// are rejected with a [`ConfigError`] naming the variable.
    pub fn with_overrides(mut self, env: &Env) -> Result<Self, ConfigError> {
        if let Some(price) = read_price(env, PRICE_GB_SECOND_VAR)? {
            self.gb_second_usd = price;
        }
        if let Some(price) = read_price(env, PRICE_GB_SECOND_ARM64_VAR)? {
            self.gb_second_usd_arm64 = Some(price);
        }
        if let Some(price) = read_price(env, PRICE_VCPU_SECOND_VAR)? {
            self.vcpu_second_usd = Some(price);
        }
        if let Some(price) = read_price(env, PRICE_REQUEST_VAR)? {
            self.request_usd = price;
        }
        if let Some(raw) = env.get(BILLING_GRANULARITY_MS_VAR) {
            let ms = raw.trim().parse::<u64>().map_err(|_| {
                ConfigError::new(
                    BILLING_GRANULARITY_MS_VAR,
                    raw.clone(),
                    "expected a whole, non-negative number of milliseconds",
                )
            })?;
            self.duration_granularity = Duration::from_millis(ms);
        }
        Ok(self)
    }

    /// The GB-second price for `architecture`.
    pub fn gb_second_price(&self, architecture: Architecture) -> f64 {
        match architecture {
            Architecture::X86_64 => self.gb_second_usd,
            Architecture::Arm64 => self.gb_second_usd_arm64.unwrap_or(self.gb_second_usd),
        }
    }

    /// The duration billed for `duration`: rounded up to the granularity, then raised to the
    /// minimum. Saturates at [`Duration::MAX`].
    pub fn billed_duration(&self, duration: Duration) -> Duration {
        round_up_duration(duration, self.duration_granularity).max(self.minimum_duration)
    }

    /// The memory billed for `memory_mb`: rounded up to the memory step. Saturates at
    /// `u64::MAX`.
    pub fn billed_memory_mb(&self, memory_mb: u64) -> u64 {
        let step = self.memory_step_mb;
        if step <= 1 {
            return memory_mb;
        }
        memory_mb.div_ceil(step).saturating_mul(step)
    }
}

impl CostModel for PricePlan {
    fn estimate(&self, input: &BillingInput) -> CostEstimate {
        let billed_duration = self.billed_duration(input.duration);
        let billed_memory_mb = self.billed_memory_mb(input.memory_mb);
        let seconds = billed_duration.as_secs_f64();

        let gb = billed_memory_mb as f64 / self.memory_unit.mb_per_unit();
        let memory_usd = seconds * gb * non_negative(self.gb_second_price(input.architecture));

        let vcpus = non_negative(input.vcpus.or(self.default_vcpus).unwrap_or(0.0));
        let vcpu_usd = match self.vcpu_second_usd {
            Some(price) if vcpus > 0.0 => seconds * vcpus * non_negative(price),
            _ => 0.0,
        };

        let compute_usd = memory_usd + vcpu_usd;
        let request_usd = non_negative(self.request_usd);
        CostEstimate {
            total_usd: compute_usd + request_usd,
            compute_usd,
            request_usd,
            billed_duration,
            billed_memory_mb,
            architecture: input.architecture,
        }
    }
}

/// `value` when it is a non-negative number, otherwise 0.
fn non_negative(value: f64) -> f64 {
    if value.is_nan() || value < 0.0 {
        0.0
    } else {
        value
    }
}

fn round_up_duration(duration: Duration, granularity: Duration) -> Duration {
    let step = granularity.as_nanos();
    if step <= 1 {
        return duration;
    }
    // u128 nanoseconds cannot overflow here: Duration::MAX is about 1.8e28 ns.
    let nanos = duration.as_nanos().div_ceil(step).saturating_mul(step);
    let secs = nanos / 1_000_000_000;
    let sub_nanos = (nanos % 1_000_000_000) as u32;
    match u64::try_from(secs) {
        Ok(secs) => Duration::new(secs, sub_nanos),
        Err(_) => Duration::MAX,
    }
}

fn read_price(env: &Env, variable: &str) -> Result<Option<f64>, ConfigError> {
    let Some(raw) = env.get(variable) else {
        return Ok(None);
    };
    match raw.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(Some(value)),
        Ok(_) => Err(ConfigError::new(
            variable,
            raw,
            "expected a finite, non-negative price in USD",
        )),
        Err(_) => Err(ConfigError::new(
            variable,
            raw,
            "expected a number (a price in USD)",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn plan() -> PricePlan {
        PricePlan {
            gb_second_usd_arm64: Some(0.000008),
            ..PricePlan::per_gb_second("test", 0.00001, 0.0000002)
        }
    }

    fn assert_close(actual: f64, expected: f64) {
        let tolerance = expected.abs() * 1e-12 + 1e-20;
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} != {expected}"
        );
    }

    #[test]
    fn architecture_parses_aliases_and_prints_canonical_names() {
        for (text, expected) in [
            ("x86_64", Architecture::X86_64),
            ("amd64", Architecture::X86_64),
            (" AMD64 ", Architecture::X86_64),
            ("arm64", Architecture::Arm64),
            ("aarch64", Architecture::Arm64),
        ] {
            assert_eq!(text.parse::<Architecture>().unwrap(), expected, "{text}");
        }
        assert!("i686".parse::<Architecture>().is_err());
        assert_eq!(Architecture::X86_64.as_str(), "x86_64");
        assert_eq!(Architecture::Arm64.to_string(), "arm64");
        let expected = if cfg!(target_arch = "aarch64") {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        };
        assert_eq!(Architecture::current(), expected);
    }

    #[test]
    fn rounds_duration_up_and_prices_memory_time() {
        // 1.5 ms at 1 ms granularity bills 2 ms; 1024 MB = 1 GB.
        let input = BillingInput::new(Duration::from_micros(1500), 1024)
            .with_architecture(Architecture::X86_64);
        let estimate = plan().estimate(&input);
        assert_eq!(estimate.billed_duration, Duration::from_millis(2));
        assert_eq!(estimate.billed_memory_mb, 1024);
        assert_close(estimate.compute_usd, 0.002 * 0.00001);
        assert_close(estimate.request_usd, 0.0000002);
        assert_close(estimate.total_usd, 0.00000002 + 0.0000002);
    }

    #[test]
    fn arm64_price_and_fallback() {
        let input =
            BillingInput::new(Duration::from_secs(1), 2048).with_architecture(Architecture::Arm64);
        assert_close(plan().estimate(&input).compute_usd, 2.0 * 0.000008);
        let mut no_arm = plan();
        no_arm.gb_second_usd_arm64 = None;
        assert_close(no_arm.estimate(&input).compute_usd, 2.0 * 0.00001);
    }

    #[test]
    fn minimum_memory_step_and_vcpus() {
        let mut p = plan();
        p.minimum_duration = Duration::from_millis(100);
        p.memory_step_mb = 128;
        p.vcpu_second_usd = Some(0.00002);
        p.default_vcpus = Some(1.0);
        // 10 ms → 100 ms minimum; 129 MB → 256 MB.
        let input = BillingInput::new(Duration::from_millis(10), 129)
            .with_architecture(Architecture::X86_64);
        let e = p.estimate(&input);
        assert_eq!(e.billed_duration, Duration::from_millis(100));
        assert_eq!(e.billed_memory_mb, 256);
        assert_close(e.compute_usd, 0.1 * 0.25 * 0.00001 + 0.1 * 1.0 * 0.00002);
        let e2 = p.estimate(&input.with_vcpus(2.0));
        assert_close(e2.compute_usd, 0.1 * 0.25 * 0.00001 + 0.1 * 2.0 * 0.00002);
    }

    #[test]
    fn decimal_memory_unit() {
        let mut p = plan();
        p.memory_unit = MemoryUnit::DecimalGb;
        let input =
            BillingInput::new(Duration::from_secs(1), 1000).with_architecture(Architecture::X86_64);
        assert_close(p.estimate(&input).compute_usd, 0.00001);
    }

    #[test]
    fn never_panics_on_extreme_inputs() {
        let mut p = plan();
        p.memory_step_mb = 128;
        p.duration_granularity = Duration::from_millis(100);
        for (duration, memory) in [
            (Duration::ZERO, 0),
            (Duration::MAX, u64::MAX),
            (Duration::from_secs(u64::MAX), 1),
            (Duration::new(u64::MAX, 999_999_999), 128),
        ] {
            let e = p.estimate(&BillingInput::new(duration, memory));
            assert!(e.total_usd >= 0.0);
            let _ = e.attributes();
        }
        let zero = p.estimate(&BillingInput::new(Duration::ZERO, 0));
        assert_eq!(zero.billed_duration, Duration::ZERO);
        assert_eq!(zero.compute_usd, 0.0);
        assert_close(zero.total_usd, 0.0000002);
        assert_eq!(p.billed_duration(Duration::MAX), Duration::MAX);
        assert_eq!(p.billed_memory_mb(u64::MAX), u64::MAX);
        // Nonsense prices and vCPUs count as zero rather than producing NaN.
        p.gb_second_usd = f64::NAN;
        p.vcpu_second_usd = Some(-1.0);
        let e = p.estimate(&BillingInput::new(Duration::from_secs(1), 128).with_vcpus(f64::NAN));
        assert_eq!(e.compute_usd, 0.0);
    }

    #[test]
    fn zero_granularity_means_exact() {
        let mut p = plan();
        p.duration_granularity = Duration::ZERO;
        assert_eq!(
            p.billed_duration(Duration::from_nanos(1_234_567)),
            Duration::from_nanos(1_234_567)
        );
    }

    #[test]
    fn attributes_have_exact_names_and_types() {
        let input = BillingInput::new(Duration::from_micros(100_500), 512)
            .with_architecture(Architecture::Arm64);
        let attrs = plan().estimate(&input).attributes();
        let get = |key: &str| {
            attrs
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
                .unwrap()
        };
        use opentelemetry::Value;
        assert_eq!(get(attributes::COST_BILLED_DURATION_MS), Value::I64(101));
        assert_eq!(get(attributes::COST_BILLED_MEMORY_MB), Value::I64(512));
        assert_eq!(get(attributes::COST_ARCHITECTURE), Value::from("arm64"));
        assert_eq!(get(attributes::COST_REQUEST_USD), Value::F64(0.0000002));
        assert!(matches!(get(attributes::COST_USD), Value::F64(_)));
        assert!(matches!(get(attributes::COST_COMPUTE_USD), Value::F64(_)));
        assert_eq!(attrs.len(), 6);
    }

    #[test]
    fn overrides_from_env() {
        let env = Env::from_pairs([
            (PRICE_GB_SECOND_VAR, "0.00002"),
            (PRICE_GB_SECOND_ARM64_VAR, "0.000015"),
            (PRICE_VCPU_SECOND_VAR, "0.00003"),
            (PRICE_REQUEST_VAR, "0.0000004"),
            (BILLING_GRANULARITY_MS_VAR, "100"),
        ]);
        let p = plan().with_overrides(&env).unwrap();
        assert_eq!(p.gb_second_usd, 0.00002);
        assert_eq!(p.gb_second_usd_arm64, Some(0.000015));
        assert_eq!(p.vcpu_second_usd, Some(0.00003));
        assert_eq!(p.request_usd, 0.0000004);
        assert_eq!(p.duration_granularity, Duration::from_millis(100));
        // Nothing set: unchanged.
        assert_eq!(
            plan()
                .with_overrides(&Env::from_pairs([("X", "1")]))
                .unwrap(),
            plan()
        );
        assert!(PRICE_GB_SECOND_VAR.starts_with(attributes::ENV_PREFIX));
    }

    #[test]
    fn bad_overrides_name_the_variable() {
        for (variable, value) in [
            (PRICE_GB_SECOND_VAR, "-0.1"),
            (PRICE_GB_SECOND_ARM64_VAR, "NaN"),
            (PRICE_VCPU_SECOND_VAR, "inf"),
            (PRICE_REQUEST_VAR, "twenty cents"),
            (BILLING_GRANULARITY_MS_VAR, "-1"),
            (BILLING_GRANULARITY_MS_VAR, "1.5"),
        ] {
            let err = plan()
                .with_overrides(&Env::from_pairs([(variable, value)]))
                .unwrap_err();
            assert_eq!(err.variable, variable);
            assert_eq!(err.value, value);
        }
    }
}
