//! [`GcpEnvironment`]: Cloud Run functions, Cloud Functions (2nd gen), Cloud Run services and
//! jobs, read from their variables.

use faas_core::ConfigError;
use faas_core::cost::PricePlan;
use faas_core::env::Env;
use faas_core::faas_environment::{BoxFuture, FaasEnvironment};
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as attr;

/// `cloud.platform` for Cloud Run services and jobs.
pub const PLATFORM_CLOUD_RUN: &str = "gcp_cloud_run";
/// `cloud.platform` for Cloud Run functions / Cloud Functions.
pub const PLATFORM_CLOUD_FUNCTIONS: &str = "gcp_cloud_functions";

/// This process on Google Cloud's serverless platforms.
///
/// Detection rules: `FUNCTION_TARGET` set (the Functions Framework contract) →
/// `gcp_cloud_functions`; otherwise `K_SERVICE` (services) or `CLOUD_RUN_JOB` (jobs) →
/// `gcp_cloud_run`. `faas.name` is the service or job, `faas.version` the revision or execution.
/// Project, region and instance id come from the metadata server ([`FaasEnvironment::enrich`],
/// see [`crate::metadata`]), bounded, and only when one of these variables is set.
///
/// Cloud Run does not tell the process its memory limit, so `faas.max_memory` and the cost
/// attributes need `FAAS_OTEL_MEMORY_MB` (the service's `--memory` in MiB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpEnvironment {
    /// `cloud.platform`.
    pub platform: &'static str,
    /// `faas.name`: `K_SERVICE` or `CLOUD_RUN_JOB`.
    pub name: String,
    /// `faas.version`: `K_REVISION` or `CLOUD_RUN_EXECUTION`.
    pub version: Option<String>,
    /// `FUNCTION_TARGET`.
    pub function_target: Option<String>,
    /// `FUNCTION_SIGNATURE_TYPE` (`http` or `cloudevent`).
    pub signature_type: Option<String>,
    /// `FAAS_OTEL_MEMORY_MB`: the memory limit in MiB, for `faas.max_memory` and the cost.
    pub memory_mb: Option<u64>,
    /// The metadata server's `host[:port]`: `GCE_METADATA_HOST`, else
    /// [`crate::metadata::DEFAULT_METADATA_HOST`].
    pub metadata_host: String,
}

/// The variable giving the memory limit in MiB (Cloud Run does not expose it).
pub const MEMORY_MB_VAR: &str = "FAAS_OTEL_MEMORY_MB";

/// Reads `FAAS_OTEL_MEMORY_MB`: unset or blank is `None`, a positive integer is the limit in
/// MiB, anything else is an error naming the variable.
pub fn memory_mb_from_env(env: &Env) -> Result<Option<u64>, ConfigError> {
    let Some(value) = env.get(MEMORY_MB_VAR).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(mb) if mb > 0 => Ok(Some(mb)),
        _ => Err(ConfigError::new(
            MEMORY_MB_VAR,
            value,
            "expected the memory limit in MiB, a positive integer (e.g. 512)",
        )),
    }
}

impl GcpEnvironment {
    /// Reads the variables; `None` when not on Cloud Run or Cloud Functions.
    pub fn from_env(env: &Env) -> Option<Self> {
        let function_target = env.get("FUNCTION_TARGET");
        let (name, version) = match (env.get("K_SERVICE"), env.get("CLOUD_RUN_JOB")) {
            (Some(service), _) => (service, env.get("K_REVISION")),
            (None, Some(job)) => (job, env.get("CLOUD_RUN_EXECUTION")),
            (None, None) => (function_target.clone()?, None),
        };
        Some(Self {
            platform: if function_target.is_some() {
                PLATFORM_CLOUD_FUNCTIONS
            } else {
                PLATFORM_CLOUD_RUN
            },
            name,
            version,
            function_target,
            signature_type: env.get("FUNCTION_SIGNATURE_TYPE"),
            memory_mb: memory_mb_from_env(env).ok().flatten(),
            metadata_host: crate::metadata::metadata_host(env),
        })
    }
}

/// Detector for [`faas_core::faas_environment::detect`].
pub fn detect(env: &Env) -> Option<Box<dyn FaasEnvironment>> {
    GcpEnvironment::from_env(env).map(|e| Box::new(e) as Box<dyn FaasEnvironment>)
}

impl FaasEnvironment for GcpEnvironment {
    fn function_name(&self) -> &str {
        &self.name
    }

    fn resource_attributes(&self) -> Vec<KeyValue> {
        let mut attrs = vec![
            KeyValue::new(attr::CLOUD_PROVIDER, "gcp"),
            KeyValue::new(attr::CLOUD_PLATFORM, self.platform),
            KeyValue::new(attr::FAAS_NAME, self.name.clone()),
        ];
        if let Some(version) = &self.version {
            attrs.push(KeyValue::new(attr::FAAS_VERSION, version.clone()));
        }
        attrs
    }

    fn max_memory_bytes(&self) -> Option<u64> {
        self.memory_mb.map(|mb| mb * 1024 * 1024)
    }

    fn price_plan(&self) -> Option<PricePlan> {
        Some(crate::pricing::cloud_run_request_plan())
    }

    /// `cloud.account.id`, `cloud.region` and `faas.instance` from the metadata server (see
    /// [`crate::metadata::MetadataClient::resource_attributes`]).
    fn enrich(&self) -> BoxFuture<'_, Vec<KeyValue>> {
        Box::pin(async move {
            match crate::metadata::MetadataClient::new(&self.metadata_host) {
                Some(client) => client.resource_attributes().await,
                None => Vec::new(),
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn detection_rules_pick_the_platform() {
        let function = GcpEnvironment::from_env(&Env::from_pairs([
            ("K_SERVICE", "hello"),
            ("K_REVISION", "hello-00002-abc"),
            ("FUNCTION_TARGET", "hello"),
            ("FUNCTION_SIGNATURE_TYPE", "http"),
        ]))
        .unwrap();
        assert_eq!(function.platform, "gcp_cloud_functions");
        assert_eq!(function.version.as_deref(), Some("hello-00002-abc"));
        let service = GcpEnvironment::from_env(&Env::from_pairs([("K_SERVICE", "api")])).unwrap();
        assert_eq!(service.platform, "gcp_cloud_run");
        let job = GcpEnvironment::from_env(&Env::from_pairs([
            ("CLOUD_RUN_JOB", "nightly"),
            ("CLOUD_RUN_EXECUTION", "nightly-x1"),
        ]))
        .unwrap();
        assert_eq!(
            (job.name.as_str(), job.version.as_deref()),
            ("nightly", Some("nightly-x1"))
        );
        assert!(GcpEnvironment::from_env(&Env::from_pairs([("PORT", "8080")])).is_none());
    }

    #[test]
    fn memory_comes_from_faas_otel_memory_mb() {
        let env = Env::from_pairs([("K_SERVICE", "api"), ("FAAS_OTEL_MEMORY_MB", "512")]);
        let gcp = GcpEnvironment::from_env(&env).unwrap();
        assert_eq!(gcp.max_memory_bytes(), Some(512 * 1024 * 1024));
        assert_eq!(gcp.metadata_host, "metadata.google.internal");
        let none = GcpEnvironment::from_env(&Env::from_pairs([("K_SERVICE", "api")])).unwrap();
        assert_eq!(none.max_memory_bytes(), None);
        for bad in ["0", "512Mi", "-1", "lots"] {
            let err =
                memory_mb_from_env(&Env::from_pairs([("FAAS_OTEL_MEMORY_MB", bad)])).unwrap_err();
            assert_eq!(
                (err.variable.as_str(), err.value.as_str()),
                ("FAAS_OTEL_MEMORY_MB", bad)
            );
        }
        assert_eq!(
            memory_mb_from_env(&Env::from_pairs([("FAAS_OTEL_MEMORY_MB", " ")])).unwrap(),
            None
        );
    }

    #[test]
    fn resource_attributes_follow_the_conventions() {
        let env = GcpEnvironment::from_env(&Env::from_pairs([
            ("K_SERVICE", "api"),
            ("K_REVISION", "api-1"),
        ]))
        .unwrap();
        assert_eq!(
            env.resource_attributes(),
            vec![
                KeyValue::new("cloud.provider", "gcp"),
                KeyValue::new("cloud.platform", "gcp_cloud_run"),
                KeyValue::new("faas.name", "api"),
                KeyValue::new("faas.version", "api-1"),
            ]
        );
    }
}
