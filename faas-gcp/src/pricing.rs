//! Google Cloud Run functions / Cloud Run list prices as a [`PricePlan`].
//!
//! Prices are the tier 1 list prices (late 2025) for request-based billing. The free tier,
//! committed-use discounts, tier 2 regions and instance-based billing are not modelled; set the
//! `FAAS_OTEL_PRICE_*` variables to override (see [`PricePlan::with_overrides`]).

use std::time::Duration;

use faas_core::cost::PricePlan;

/// vCPU time: $0.000024 per vCPU-second.
pub const CLOUD_RUN_VCPU_SECOND_USD: f64 = 0.000_024;
/// Memory time: $0.0000025 per GiB-second.
pub const CLOUD_RUN_GIB_SECOND_USD: f64 = 0.000_002_5;
/// Requests: $0.40 per 1 million, i.e. $0.0000004 per request.
pub const CLOUD_RUN_REQUEST_USD: f64 = 0.40 / 1_000_000.0;

/// Cloud Run (and Cloud Run functions / Cloud Functions 2nd gen) with request-based billing,
/// tier 1: $0.000024 per vCPU-second, $0.0000025 per GiB-second, $0.40 per million requests;
/// billed time rounded up to 100 ms; 1 vCPU unless [`BillingInput::vcpus`] says otherwise.
///
/// Memory is given in MiB (Cloud Run's `512Mi`), so GiB = `memory_mb / 1024`
/// ([`MemoryUnit::BinaryGb`](faas_core::cost::MemoryUnit::BinaryGb)). Cloud Run bills concurrent requests of one instance together, so
/// with concurrency above 1 the per-request estimate is an upper bound.
///
/// [`BillingInput::vcpus`]: faas_core::cost::BillingInput::vcpus
pub fn cloud_run_request_plan() -> PricePlan {
    PricePlan {
        vcpu_second_usd: Some(CLOUD_RUN_VCPU_SECOND_USD),
        duration_granularity: Duration::from_millis(100),
        default_vcpus: Some(1.0),
        ..PricePlan::per_gb_second(
            "gcp_cloud_run_request",
            CLOUD_RUN_GIB_SECOND_USD,
            CLOUD_RUN_REQUEST_USD,
        )
    }
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
    fn one_vcpu_512_mib_rounded_up_to_100_ms() {
        // 120 ms bills 200 ms: 0.2 × 1 × 0.000024 + 0.2 × 0.5 × 0.0000025
        //   = 0.0000048 + 0.00000025 = 0.00000505; + 0.0000004 = 0.00000545.
        let e = cloud_run_request_plan().estimate(&input(Duration::from_millis(120), 512));
        assert_eq!(e.billed_duration, Duration::from_millis(200));
        assert_close(e.compute_usd, 0.000_005_05);
        assert_close(e.request_usd, 0.000_000_4);
        assert_close(e.total_usd, 0.000_005_45);
    }

    #[test]
    fn explicit_vcpus_and_exact_multiples() {
        // 1 s at 2 vCPUs and 1 GiB: 1 × 2 × 0.000024 + 1 × 1 × 0.0000025 = 0.0000505.
        let e = cloud_run_request_plan()
            .estimate(&input(Duration::from_millis(1000), 1024).with_vcpus(2.0));
        assert_eq!(e.billed_duration, Duration::from_secs(1));
        assert_close(e.compute_usd, 0.000_050_5);
        // 0.5 vCPU, 256 MiB, 1 ms bills 100 ms: 0.1 × 0.5 × 0.000024 + 0.1 × 0.25 × 0.0000025
        //   = 0.0000012 + 0.0000000625 = 0.0000012625.
        let e = cloud_run_request_plan()
            .estimate(&input(Duration::from_millis(1), 256).with_vcpus(0.5));
        assert_eq!(e.billed_duration, Duration::from_millis(100));
        assert_close(e.compute_usd, 0.000_001_262_5);
    }

    #[test]
    fn zero_duration_costs_only_the_request() {
        let e = cloud_run_request_plan().estimate(&input(Duration::ZERO, 512));
        assert_eq!(e.billed_duration, Duration::ZERO);
        assert_eq!(e.compute_usd, 0.0);
        assert_close(e.total_usd, CLOUD_RUN_REQUEST_USD);
    }
}
