//! AWS Lambda list prices as a [`PricePlan`].
//!
//! Prices are the us-east-1 list prices (late 2025), first tier (the first 6 billion GB-seconds
//! a month). Other regions, tiered discounts, Savings Plans and the free tier are not modelled;
//! set the `FAAS_OTEL_PRICE_*` variables to override (see [`PricePlan::with_overrides`]).
//!
//! Lambda also bills the INIT phase of on-demand functions; the estimate covers the invocation
//! only (see [`faas_core::cost`]).

use faas_core::cost::PricePlan;

/// x86_64 compute: $0.0000166667 per GB-second.
pub const LAMBDA_X86_64_GB_SECOND_USD: f64 = 0.000_016_666_7;
/// arm64 (Graviton) compute: $0.0000133334 per GB-second.
pub const LAMBDA_ARM64_GB_SECOND_USD: f64 = 0.000_013_333_4;
/// Requests: $0.20 per 1 million, i.e. $0.0000002 per request.
pub const LAMBDA_REQUEST_USD: f64 = 0.20 / 1_000_000.0;

/// AWS Lambda on-demand pricing: $0.0000166667 per GB-second on x86_64, $0.0000133334 per
/// GB-second on arm64, $0.20 per million requests; duration billed per 1 ms, rounded up, with
/// no minimum; memory as configured (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, MB / 1024 = GB).
pub fn lambda_plan() -> PricePlan {
    PricePlan {
        gb_second_usd_arm64: Some(LAMBDA_ARM64_GB_SECOND_USD),
        ..PricePlan::per_gb_second(
            "aws_lambda",
            LAMBDA_X86_64_GB_SECOND_USD,
            LAMBDA_REQUEST_USD,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faas_core::cost::{Architecture, BillingInput, CostModel};
    use faas_testkit::assert_close;
    use std::time::Duration;

    #[test]
    fn x86_128_mb_for_100_ms() {
        // 0.1 s × 0.125 GB × 0.0000166667 = 0.00000020833375; + 0.0000002 per request.
        let input = BillingInput::new(Duration::from_millis(100), 128)
            .with_architecture(Architecture::X86_64);
        let e = lambda_plan().estimate(&input);
        assert_eq!(e.billed_duration, Duration::from_millis(100));
        assert_eq!(e.billed_memory_mb, 128);
        assert_close(e.compute_usd, 0.000_000_208_333_75);
        assert_close(e.request_usd, 0.000_000_2);
        assert_close(e.total_usd, 0.000_000_408_333_75);
    }

    #[test]
    fn arm64_1024_mb_rounded_up_to_the_millisecond() {
        // 1234.1 ms bills 1235 ms: 1.235 s × 1 GB × 0.0000133334 = 0.000016466749.
        let input = BillingInput::new(Duration::from_micros(1_234_100), 1024)
            .with_architecture(Architecture::Arm64);
        let e = lambda_plan().estimate(&input);
        assert_eq!(e.billed_duration, Duration::from_millis(1235));
        assert_close(e.compute_usd, 0.000_016_466_749);
        assert_close(e.total_usd, 0.000_016_666_749);
    }

    #[test]
    fn no_minimum_and_zero_duration() {
        // 0.3 ms bills 1 ms at 10240 MB: 0.001 × 10 × 0.0000166667 = 0.000000166667.
        let input = BillingInput::new(Duration::from_micros(300), 10_240)
            .with_architecture(Architecture::X86_64);
        let e = lambda_plan().estimate(&input);
        assert_eq!(e.billed_duration, Duration::from_millis(1));
        assert_close(e.compute_usd, 0.000_000_166_667);
        let zero = lambda_plan().estimate(&BillingInput::new(Duration::ZERO, 128));
        assert_eq!(zero.compute_usd, 0.0);
        assert_close(zero.total_usd, LAMBDA_REQUEST_USD);
    }

    #[test]
    fn one_million_requests_of_one_gb_second() {
        // The list price: 1 M × (1 GB-s × 0.0000166667 + 0.0000002) = $16.8667.
        let input =
            BillingInput::new(Duration::from_secs(1), 1024).with_architecture(Architecture::X86_64);
        let e = lambda_plan().estimate(&input);
        assert_close(e.total_usd * 1_000_000.0, 16.8667);
    }
}
