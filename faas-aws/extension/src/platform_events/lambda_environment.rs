//! [`LambdaEnvironment`]: the function's Lambda resource and price plan, as the extension sees
//! them from the environment it shares with the function.
//!
//! The same attributes and prices as faas-aws's `LambdaEnvironment` and `pricing::lambda_plan`
//! (the extension's tests check that they agree). Kept here because the extension cannot depend
//! on faas-aws, which links `lambda_runtime`; see the crate README.

use std::time::Duration;

use faas_core::cost::{Architecture, MemoryUnit, PricePlan};
use faas_core::env::Env;
use faas_core::faas_environment::{FaasEnvironment, InitializationType};
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as attr;

/// x86_64 compute: $0.0000166667 per GB-second (us-east-1 list price, first tier).
const GB_SECOND_X86_64_USD: f64 = 0.000_016_666_7;
/// arm64 (Graviton) compute: $0.0000133334 per GB-second.
const GB_SECOND_ARM64_USD: f64 = 0.000_013_333_4;
/// Requests: $0.20 per 1 million.
const REQUEST_USD: f64 = 0.20 / 1_000_000.0;

/// The Lambda execution environment, from `AWS_LAMBDA_FUNCTION_NAME` (required),
/// `AWS_LAMBDA_FUNCTION_VERSION`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, `AWS_REGION`,
/// `AWS_LAMBDA_LOG_STREAM_NAME`, `AWS_LAMBDA_LOG_GROUP_NAME`, `AWS_LAMBDA_INITIALIZATION_TYPE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LambdaEnvironment {
    function_name: String,
    function_version: Option<String>,
    memory_mb: Option<u64>,
    region: Option<String>,
    log_stream: Option<String>,
    log_group: Option<String>,
    initialization_type: Option<String>,
}

impl LambdaEnvironment {
    /// Reads the variables; `None` when `AWS_LAMBDA_FUNCTION_NAME` is unset (not on Lambda).
    pub(crate) fn from_env(env: &Env) -> Option<Self> {
        Some(Self {
            function_name: env.get("AWS_LAMBDA_FUNCTION_NAME")?,
            function_version: env.get("AWS_LAMBDA_FUNCTION_VERSION"),
            memory_mb: env
                .get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .and_then(|m| m.trim().parse().ok()),
            region: env
                .get("AWS_REGION")
                .or_else(|| env.get("AWS_DEFAULT_REGION")),
            log_stream: env.get("AWS_LAMBDA_LOG_STREAM_NAME"),
            log_group: env.get("AWS_LAMBDA_LOG_GROUP_NAME"),
            initialization_type: env.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        })
    }
}

/// AWS Lambda on-demand pricing: per GB-second by architecture, per request, duration billed
/// per 1 ms with no minimum, memory as configured (MB / 1024 = GB).
fn lambda_plan() -> PricePlan {
    PricePlan {
        name: "aws_lambda".into(),
        gb_second_usd: GB_SECOND_X86_64_USD,
        gb_second_usd_arm64: Some(GB_SECOND_ARM64_USD),
        vcpu_second_usd: None,
        memory_unit: MemoryUnit::BinaryGb,
        request_usd: REQUEST_USD,
        duration_granularity: Duration::from_millis(1),
        minimum_duration: Duration::ZERO,
        memory_step_mb: 1,
        default_vcpus: None,
    }
}

impl FaasEnvironment for LambdaEnvironment {
    fn function_name(&self) -> &str {
        &self.function_name
    }

    fn resource_attributes(&self) -> Vec<KeyValue> {
        let mut attrs = vec![
            KeyValue::new(attr::CLOUD_PROVIDER, "aws"),
            KeyValue::new(attr::CLOUD_PLATFORM, "aws_lambda"),
            KeyValue::new(attr::FAAS_NAME, self.function_name.clone()),
        ];
        let optional = [
            (attr::CLOUD_REGION, &self.region),
            (attr::FAAS_VERSION, &self.function_version),
            (attr::FAAS_INSTANCE, &self.log_stream),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                attrs.push(KeyValue::new(key, value.clone()));
            }
        }
        if let Some(group) = &self.log_group {
            attrs.push(KeyValue::new(
                attr::AWS_LOG_GROUP_NAMES,
                opentelemetry::Value::Array(
                    vec![opentelemetry::StringValue::from(group.clone())].into(),
                ),
            ));
        }
        attrs
    }

    fn max_memory_bytes(&self) -> Option<u64> {
        self.memory_mb.map(|mb| mb.saturating_mul(1024 * 1024))
    }

    fn initialization_type(&self) -> InitializationType {
        match self.initialization_type.as_deref() {
            None | Some("on-demand") => InitializationType::OnDemand,
            Some(snap @ "snap-start") => InitializationType::Snapshot(snap.to_owned()),
            Some(other) => InitializationType::Provisioned(other.to_owned()),
        }
    }

    fn architecture(&self) -> Architecture {
        Architecture::current()
    }

    fn price_plan(&self) -> Option<PricePlan> {
        Some(lambda_plan())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn full_env() -> Env {
        Env::from_pairs([
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/26/[$LATEST]abc"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"),
        ])
    }

    #[test]
    fn agrees_with_faas_aws() {
        let ours = LambdaEnvironment::from_env(&full_env()).unwrap();
        let theirs = faas_aws::LambdaEnvironment::from_env(&full_env()).unwrap();
        assert_eq!(ours.resource_attributes(), theirs.resource_attributes());
        assert_eq!(ours.max_memory_bytes(), theirs.max_memory_bytes());
        assert_eq!(
            ours.initialization_type().as_str(),
            theirs.initialization_type().as_str()
        );
        assert_eq!(ours.price_plan(), Some(faas_aws::pricing::lambda_plan()));
        assert!(LambdaEnvironment::from_env(&Env::from_pairs([("AWS_REGION", "x")])).is_none());
    }
}
