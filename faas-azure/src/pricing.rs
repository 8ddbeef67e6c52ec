//! Azure Functions list prices as [`PricePlan`]s.
//!
//! Prices are the list prices (late 2025) in USD. The monthly free grants, regional prices and
//! the always-ready baseline of Flex Consumption are not modelled; set the `FAAS_OTEL_PRICE_*`
//! variables to override (see [`PricePlan::with_overrides`]).
//!
//! Both plans compute GB-seconds as `memory_mb / 1024`. Azure bills concurrent executions on one
//! instance together, so on a busy instance the per-invocation estimate is an upper bound.

use std::time::Duration;

use faas_core::cost::PricePlan;

/// Consumption plan compute: $0.000016 per GB-second.
pub const CONSUMPTION_GB_SECOND_USD: f64 = 0.000_016;
/// Consumption plan executions: $0.20 per 1 million, i.e. $0.0000002 per execution.
pub const CONSUMPTION_REQUEST_USD: f64 = 0.20 / 1_000_000.0;
/// Flex Consumption on-demand compute: about $0.000026 per GB-second.
pub const FLEX_CONSUMPTION_GB_SECOND_USD: f64 = 0.000_026;
/// Flex Consumption on-demand executions: $0.40 per 1 million (an assumption, see
/// [`flex_consumption_plan`]).
pub const FLEX_CONSUMPTION_REQUEST_USD: f64 = 0.40 / 1_000_000.0;

/// The (Linux/Windows) Consumption plan: $0.000016 per GB-second and $0.20 per million
/// executions; memory rounded up to 128 MB steps; at least 100 ms billed, per 1 ms above that.
///
/// Azure bills the memory the function app *used* (sampled while it ran), not a configured
/// size: pass the observed memory in [`BillingInput::memory_mb`](faas_core::cost::BillingInput)
/// when it is known, or the instance limit (`WEBSITE_MEMORY_LIMIT_MB`, 1536 MB) as an upper
/// bound.
pub fn consumption_plan() -> PricePlan {
    PricePlan {
        minimum_duration: Duration::from_millis(100),
        memory_step_mb: 128,
        ..PricePlan::per_gb_second(
            "azure_functions_consumption",
            CONSUMPTION_GB_SECOND_USD,
            CONSUMPTION_REQUEST_USD,
        )
    }
}

/// The Flex Consumption plan, on-demand mode: about $0.000026 per GB-second of the instance's
/// memory size (512, 2048 or 4096 MB) while it executes.
///
/// Assumptions, to check against the current price list: executions cost $0.40 per million;
/// time is billed per 1 ms, rounded up, with no minimum; memory is the configured instance
/// size, not rounded.
pub fn flex_consumption_plan() -> PricePlan {
    PricePlan::per_gb_second(
        "azure_functions_flex_consumption",
        FLEX_CONSUMPTION_GB_SECOND_USD,
        FLEX_CONSUMPTION_REQUEST_USD,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use faas_core::cost::{Architecture, BillingInput, CostModel};
    use faas_testkit::assert_close;

    fn input(duration: Duration, memory_mb: u64) -> BillingInput {
        BillingInput::new(duration, memory_mb).with_architecture(Architecture::X86_64)
    }

    #[test]
    fn consumption_rounds_memory_up_to_128_mb() {
        // 160 MB bills 256 MB (the documented example); 3 s × 0.25 GB × 0.000016 = 0.000012.
        let e = consumption_plan().estimate(&input(Duration::from_secs(3), 160));
        assert_eq!(e.billed_memory_mb, 256);
        assert_eq!(e.billed_duration, Duration::from_secs(3));
        assert_close(e.compute_usd, 0.000_012);
        assert_close(e.total_usd, 0.000_012_2);
    }

    #[test]
    fn consumption_bills_at_least_100_ms() {
        // 20 ms bills 100 ms: 0.1 s × 0.125 GB × 0.000016 = 0.0000002.
        let e = consumption_plan().estimate(&input(Duration::from_millis(20), 128));
        assert_eq!(e.billed_duration, Duration::from_millis(100));
        assert_close(e.compute_usd, 0.000_000_2);
        assert_close(e.total_usd, 0.000_000_4);
        // 150.2 ms bills 151 ms: 0.151 × 0.125 × 0.000016 = 0.000000302.
        let e = consumption_plan().estimate(&input(Duration::from_micros(150_200), 100));
        assert_eq!(e.billed_duration, Duration::from_millis(151));
        assert_eq!(e.billed_memory_mb, 128);
        assert_close(e.compute_usd, 0.000_000_302);
    }

    #[test]
    fn flex_consumption_prices_instance_memory() {
        // 250 ms at 2048 MB: 0.25 s × 2 GB × 0.000026 = 0.000013; + 0.0000004.
        let e = flex_consumption_plan().estimate(&input(Duration::from_millis(250), 2048));
        assert_eq!(e.billed_memory_mb, 2048);
        assert_close(e.compute_usd, 0.000_013);
        assert_close(e.request_usd, 0.000_000_4);
        assert_close(e.total_usd, 0.000_013_4);
        // No minimum: 5 ms bills 5 ms.
        let short = flex_consumption_plan().estimate(&input(Duration::from_millis(5), 512));
        assert_eq!(short.billed_duration, Duration::from_millis(5));
        assert_close(short.compute_usd, 0.005 * 0.5 * 0.000_026);
    }
}
