//! [`AzureFunctionsEnvironment`]: an Azure Functions app running a custom handler.

use faas_core::cost::PricePlan;
use faas_core::env::Env;
use faas_core::faas_environment::FaasEnvironment;
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as attr;

/// `cloud.platform` for Azure Functions (semantic conventions 1.35 renamed `azure_functions`).
pub const CLOUD_PLATFORM: &str = "azure.functions";

/// The Azure Functions app of this process, from `WEBSITE_SITE_NAME` (required: its presence
/// with `FUNCTIONS_WORKER_RUNTIME` or `FUNCTIONS_EXTENSION_VERSION` is how Azure is detected),
/// `REGION_NAME`, `WEBSITE_INSTANCE_ID`, `WEBSITE_MEMORY_LIMIT_MB`, `WEBSITE_SKU`,
/// `WEBSITE_OWNER_NAME` and `WEBSITE_RESOURCE_GROUP`.
///
/// `faas.name` (`<app>/<function>`) and the function's `cloud.resource_id` name one function,
/// so they go on each invocation span ([`AzureFunctionsEnvironment::faas_name`],
/// [`AzureFunctionsEnvironment::resource_id`]); the resource carries the app's resource id
/// ([`AzureFunctionsEnvironment::site_resource_id`]) and `cloud.account.id` (the subscription).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureFunctionsEnvironment {
    /// The function app (`WEBSITE_SITE_NAME`).
    pub app_name: String,
    /// `cloud.region`.
    pub region: Option<String>,
    /// `faas.instance`.
    pub instance_id: Option<String>,
    /// Memory limit in MB.
    pub memory_mb: Option<u64>,
    /// The plan (`WEBSITE_SKU`, e.g. `Dynamic`, `FlexConsumption`).
    pub sku: Option<String>,
    /// The subscription id (before the `+` of `WEBSITE_OWNER_NAME`).
    pub subscription_id: Option<String>,
    /// `WEBSITE_RESOURCE_GROUP`.
    pub resource_group: Option<String>,
}

impl AzureFunctionsEnvironment {
    /// Reads the variables; `None` when not on Azure Functions.
    pub fn from_env(env: &Env) -> Option<Self> {
        let on_functions =
            env.contains("FUNCTIONS_WORKER_RUNTIME") || env.contains("FUNCTIONS_EXTENSION_VERSION");
        if !on_functions {
            return None;
        }
        Some(Self {
            app_name: env.get("WEBSITE_SITE_NAME")?,
            region: env.get("REGION_NAME"),
            instance_id: env.get("WEBSITE_INSTANCE_ID"),
            memory_mb: env
                .get("WEBSITE_MEMORY_LIMIT_MB")
                .and_then(|m| m.trim().parse().ok()),
            sku: env.get("WEBSITE_SKU"),
            subscription_id: env
                .get("WEBSITE_OWNER_NAME")
                .and_then(|o| o.split('+').next().map(str::to_owned))
                .filter(|s| !s.is_empty()),
            resource_group: env.get("WEBSITE_RESOURCE_GROUP"),
        })
    }

    /// `faas.name` of one function: `<app>/<function>`.
    pub fn faas_name(&self, function: &str) -> String {
        format!("{}/{function}", self.app_name)
    }

    /// `cloud.resource_id` of one function, when subscription and resource group are known.
    pub fn resource_id(&self, function: &str) -> Option<String> {
        Some(format!("{}/functions/{function}", self.site_resource_id()?))
    }

    /// The function app's Azure resource id
    /// (`/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Web/sites/<app>`), when
    /// subscription and resource group are known: `cloud.resource_id` on the resource; each
    /// invocation span names its function with [`AzureFunctionsEnvironment::resource_id`].
    pub fn site_resource_id(&self) -> Option<String> {
        Some(format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Web/sites/{}",
            self.subscription_id.as_ref()?,
            self.resource_group.as_ref()?,
            self.app_name
        ))
    }

    /// Whether the app runs on the Flex Consumption plan.
    pub fn is_flex_consumption(&self) -> bool {
        self.sku.as_deref() == Some("FlexConsumption")
    }
}

/// Detector for [`faas_core::faas_environment::detect`].
pub fn detect(env: &Env) -> Option<Box<dyn FaasEnvironment>> {
    AzureFunctionsEnvironment::from_env(env).map(|e| Box::new(e) as Box<dyn FaasEnvironment>)
}

impl FaasEnvironment for AzureFunctionsEnvironment {
    fn function_name(&self) -> &str {
        &self.app_name
    }

    fn resource_attributes(&self) -> Vec<KeyValue> {
        let mut attrs = vec![
            KeyValue::new(attr::CLOUD_PROVIDER, "azure"),
            KeyValue::new(attr::CLOUD_PLATFORM, CLOUD_PLATFORM),
        ];
        if let Some(region) = &self.region {
            attrs.push(KeyValue::new(attr::CLOUD_REGION, region.clone()));
        }
        if let Some(instance) = &self.instance_id {
            attrs.push(KeyValue::new(attr::FAAS_INSTANCE, instance.clone()));
        }
        if let Some(subscription) = &self.subscription_id {
            attrs.push(KeyValue::new(attr::CLOUD_ACCOUNT_ID, subscription.clone()));
        }
        if let Some(site) = self.site_resource_id() {
            attrs.push(KeyValue::new(attr::CLOUD_RESOURCE_ID, site));
        }
        attrs
    }

    fn max_memory_bytes(&self) -> Option<u64> {
        self.memory_mb.map(|mb| mb.saturating_mul(1024 * 1024))
    }

    fn price_plan(&self) -> Option<PricePlan> {
        Some(if self.is_flex_consumption() {
            crate::pricing::flex_consumption_plan()
        } else {
            crate::pricing::consumption_plan()
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn azure_env() -> Env {
        Env::from_pairs([
            ("FUNCTIONS_WORKER_RUNTIME", "Custom"),
            ("WEBSITE_SITE_NAME", "shop"),
            ("REGION_NAME", "West Europe"),
            ("WEBSITE_INSTANCE_ID", "inst-1"),
            ("WEBSITE_MEMORY_LIMIT_MB", "1536"),
            ("WEBSITE_OWNER_NAME", "0000-sub+shop-rg-WestEuropewebspace"),
            ("WEBSITE_RESOURCE_GROUP", "shop-rg"),
        ])
    }

    #[test]
    fn reads_the_app_and_builds_function_ids() {
        let env = AzureFunctionsEnvironment::from_env(&azure_env()).unwrap();
        assert_eq!(env.faas_name("orders"), "shop/orders");
        assert_eq!(
            env.resource_id("orders").unwrap(),
            "/subscriptions/0000-sub/resourceGroups/shop-rg/providers/Microsoft.Web/sites/shop/functions/orders"
        );
        assert_eq!(env.max_memory_bytes(), Some(1536 * 1024 * 1024));
        let attrs = env.resource_attributes();
        assert!(attrs.contains(&KeyValue::new("cloud.platform", "azure.functions")));
        assert!(attrs.contains(&KeyValue::new("cloud.region", "West Europe")));
        assert!(attrs.contains(&KeyValue::new("faas.instance", "inst-1")));
        assert!(attrs.contains(&KeyValue::new(
            "cloud.resource_id",
            "/subscriptions/0000-sub/resourceGroups/shop-rg/providers/Microsoft.Web/sites/shop"
        )));
        assert!(attrs.contains(&KeyValue::new("cloud.account.id", "0000-sub")));
    }

    #[test]
    fn not_detected_elsewhere() {
        assert!(detect(&azure_env()).is_some());
        assert!(detect(&Env::from_pairs([("WEBSITE_SITE_NAME", "web-app")])).is_none());
    }
}
