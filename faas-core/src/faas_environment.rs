//! The platform a function runs on: [`FaasEnvironment`], implemented by each provider crate,
//! and [`detect`], which picks the one the process is on.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry::KeyValue;

use crate::cost::{Architecture, PricePlan};
use crate::env::Env;

/// A boxed future, as returned by [`FaasEnvironment::enrich`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How the execution environment that runs this process was initialized.
///
/// Only [`InitializationType::OnDemand`] makes the first invocation a cold start that a caller
/// waits for; the others initialize ahead of traffic, so their first invocation is marked
/// `faas.coldstart=false` while the initialization itself is still traced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitializationType {
    /// Initialized because an invocation arrived and no environment was free.
    OnDemand,
    /// Initialized ahead of traffic (provisioned or pre-warmed capacity, managed instances).
    Provisioned(String),
    /// Restored from a snapshot taken after initialization.
    Snapshot(String),
}

impl InitializationType {
    /// The platform's own name for it (`on-demand`, `provisioned-concurrency`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::OnDemand => "on-demand",
            Self::Provisioned(name) | Self::Snapshot(name) => name,
        }
    }

    /// Whether the first invocation of such an environment waits for initialization.
    pub fn is_user_visible_cold_start(&self) -> bool {
        matches!(self, Self::OnDemand)
    }
}

/// One serverless platform, detected from environment variables without any I/O.
///
/// Provider crates implement it (`faas-aws`, `faas-azure`, `faas-gcp`); faas-core turns it into
/// the OpenTelemetry `Resource` ([`crate::resource::build_resource`]), adding `service.name`,
/// `OTEL_RESOURCE_ATTRIBUTES` and `faas.max_memory` in bytes.
pub trait FaasEnvironment: Send + Sync + Debug {
    /// The function's name, the default `service.name`.
    fn function_name(&self) -> &str;

    /// The resource attributes the platform defines (`cloud.*`, `faas.*`, provider keys),
    /// read from the environment. `faas.max_memory` and `service.name` are added by faas-core.
    fn resource_attributes(&self) -> Vec<KeyValue>;

    /// Memory available to the function, in bytes.
    fn max_memory_bytes(&self) -> Option<u64>;

    /// How this execution environment was initialized.
    fn initialization_type(&self) -> InitializationType {
        InitializationType::OnDemand
    }

    /// Processor architecture the function is billed for.
    fn architecture(&self) -> Architecture {
        Architecture::current()
    }

    /// The platform's list prices for per-invocation cost attributes, when it has them.
    /// faas-core applies the `FAAS_OTEL_PRICE_*` overrides (a bad value is a start-up error).
    fn price_plan(&self) -> Option<PricePlan> {
        None
    }

    /// Extra resource attributes that need I/O (a metadata server, say).
    ///
    /// Never called on the cold-start path unless the user asks for it; always run under
    /// [`enrich_within`], which bounds it.
    fn enrich(&self) -> BoxFuture<'_, Vec<KeyValue>> {
        Box::pin(std::future::ready(Vec::new()))
    }
}

/// Runs [`FaasEnvironment::enrich`] for at most `bound`; on time-out returns nothing.
pub async fn enrich_within(environment: &dyn FaasEnvironment, bound: Duration) -> Vec<KeyValue> {
    tokio::time::timeout(bound, environment.enrich())
        .await
        .unwrap_or_default()
}

/// A function that recognises one platform from environment variables alone.
pub type Detector = fn(&Env) -> Option<Box<dyn FaasEnvironment>>;

/// The environment of the first detector that recognises `env`, or [`LocalEnvironment`].
///
/// ```
/// use faas_core::env::Env;
/// use faas_core::faas_environment::{detect, Detector};
/// let detectors: &[Detector] = &[]; // e.g. &[faas_aws::detect, faas_gcp::detect]
/// let environment = detect(&Env::from_pairs([("OTEL_SERVICE_NAME", "demo")]), detectors);
/// assert_eq!(environment.function_name(), "demo");
/// ```
pub fn detect(env: &Env, detectors: &[Detector]) -> Box<dyn FaasEnvironment> {
    detectors
        .iter()
        .find_map(|detect| detect(env))
        .unwrap_or_else(|| Box::new(LocalEnvironment::from_env(env)))
}

/// Not on any known platform: a local run, a test, a plain container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEnvironment {
    name: String,
}

impl LocalEnvironment {
    /// Named after `OTEL_SERVICE_NAME`, else the executable, else `unknown_service`.
    pub fn from_env(env: &Env) -> Self {
        let name = env
            .get("OTEL_SERVICE_NAME")
            .or_else(|| {
                std::env::current_exe()
                    .ok()
                    .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            })
            .unwrap_or_else(|| "unknown_service".to_owned());
        Self { name }
    }

    /// A local environment with the given function name.
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

impl FaasEnvironment for LocalEnvironment {
    fn function_name(&self) -> &str {
        &self.name
    }

    fn resource_attributes(&self) -> Vec<KeyValue> {
        Vec::new()
    }

    fn max_memory_bytes(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fake;
    impl FaasEnvironment for Fake {
        fn function_name(&self) -> &str {
            "fake"
        }
        fn resource_attributes(&self) -> Vec<KeyValue> {
            vec![KeyValue::new("cloud.provider", "fake")]
        }
        fn max_memory_bytes(&self) -> Option<u64> {
            Some(128 * 1024 * 1024)
        }
        fn enrich(&self) -> BoxFuture<'_, Vec<KeyValue>> {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                vec![KeyValue::new("late", true)]
            })
        }
    }

    fn fake_detector(env: &Env) -> Option<Box<dyn FaasEnvironment>> {
        env.contains("FAKE_FUNCTION").then(|| Box::new(Fake) as _)
    }

    #[test]
    fn first_matching_detector_wins_and_local_is_the_fallback() {
        let on_fake = detect(&Env::from_pairs([("FAKE_FUNCTION", "x")]), &[fake_detector]);
        assert_eq!(on_fake.function_name(), "fake");
        let elsewhere = detect(
            &Env::from_pairs([("OTEL_SERVICE_NAME", "svc")]),
            &[fake_detector],
        );
        assert_eq!(elsewhere.function_name(), "svc");
        assert!(elsewhere.resource_attributes().is_empty());
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn enrichment_is_bounded() {
        let started = tokio::time::Instant::now();
        let attrs = enrich_within(&Fake, Duration::from_millis(50)).await;
        assert!(attrs.is_empty());
        assert_eq!(started.elapsed(), Duration::from_millis(50));
    }

    #[test]
    fn only_on_demand_is_a_visible_cold_start() {
        assert!(InitializationType::OnDemand.is_user_visible_cold_start());
        let pc = InitializationType::Provisioned("provisioned-concurrency".into());
        assert!(!pc.is_user_visible_cold_start());
        assert_eq!(pc.as_str(), "provisioned-concurrency");
        assert!(!InitializationType::Snapshot("snap-start".into()).is_user_visible_cold_start());
    }
}
