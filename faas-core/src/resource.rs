//! Turning a [`FaasEnvironment`] and the configuration into the OpenTelemetry `Resource`.

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;

use crate::attributes::semconv::resource as res;
use crate::config::TelemetryConfig;
use crate::faas_environment::FaasEnvironment;

/// Name of this distribution, in `telemetry.distro.name`.
pub const DISTRO_NAME: &str = "faas-otel";

/// Builds the resource, later sources overriding earlier ones:
///
/// 1. the SDK's `telemetry.sdk.*` and this project's `telemetry.distro.*`;
/// 2. the platform's attributes ([`FaasEnvironment::resource_attributes`]);
/// 3. `enriched` (attributes found with I/O, see [`crate::faas_environment::enrich_within`]);
/// 4. `faas.max_memory` in bytes and `service.name` = the function name;
/// 5. `OTEL_RESOURCE_ATTRIBUTES`;
/// 6. `OTEL_SERVICE_NAME`.
pub fn build_resource(
    environment: &dyn FaasEnvironment,
    config: &TelemetryConfig,
    enriched: Vec<KeyValue>,
) -> Resource {
    let mut attrs: Vec<KeyValue> = vec![
        KeyValue::new(res::TELEMETRY_SDK_NAME, "opentelemetry"),
        KeyValue::new(res::TELEMETRY_SDK_LANGUAGE, "rust"),
        KeyValue::new(res::TELEMETRY_SDK_VERSION, "0.33.1"),
        KeyValue::new(res::TELEMETRY_DISTRO_NAME, DISTRO_NAME),
        KeyValue::new(res::TELEMETRY_DISTRO_VERSION, env!("CARGO_PKG_VERSION")),
    ];
    let mut set = |kv: KeyValue| match attrs.iter_mut().find(|a| a.key == kv.key) {
        Some(existing) => *existing = kv,
        None => attrs.push(kv),
    };
    environment
        .resource_attributes()
        .into_iter()
        .for_each(&mut set);
    enriched.into_iter().for_each(&mut set);
    if let Some(bytes) = environment.max_memory_bytes() {
        set(KeyValue::new(
            res::FAAS_MAX_MEMORY,
            Value::I64(i64::try_from(bytes).unwrap_or(i64::MAX)),
        ));
    }
    set(KeyValue::new(
        res::SERVICE_NAME,
        environment.function_name().to_owned(),
    ));
    config
        .resource_attributes
        .iter()
        .cloned()
        .for_each(&mut set);
    if let Some(name) = &config.service_name {
        set(KeyValue::new(res::SERVICE_NAME, name.clone()));
    }
    Resource::builder_empty().with_attributes(attrs).build()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::env::Env;
    use opentelemetry::Key;

    #[derive(Debug)]
    struct Fn512;
    impl FaasEnvironment for Fn512 {
        fn function_name(&self) -> &str {
            "orders"
        }
        fn resource_attributes(&self) -> Vec<KeyValue> {
            vec![
                KeyValue::new("cloud.provider", "example"),
                KeyValue::new("faas.name", "orders"),
            ]
        }
        fn max_memory_bytes(&self) -> Option<u64> {
            Some(512 * 1024 * 1024)
        }
    }

    fn get(r: &Resource, key: &'static str) -> Option<Value> {
        r.get(&Key::from_static_str(key))
    }

    fn resource(pairs: &[(&str, &str)], enriched: Vec<KeyValue>) -> Resource {
        let config = TelemetryConfig::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap();
        build_resource(&Fn512, &config, enriched)
    }

    #[test]
    fn service_name_defaults_to_the_function_and_memory_is_in_bytes() {
        let r = resource(&[], vec![]);
        assert_eq!(get(&r, "service.name"), Some(Value::from("orders")));
        assert_eq!(get(&r, "faas.max_memory"), Some(Value::I64(536_870_912)));
        assert_eq!(get(&r, "cloud.provider"), Some(Value::from("example")));
        assert_eq!(get(&r, "telemetry.sdk.language"), Some(Value::from("rust")));
        assert_eq!(
            get(&r, "telemetry.distro.name"),
            Some(Value::from("faas-otel"))
        );
    }

    #[test]
    fn otel_variables_override_in_spec_order() {
        let r = resource(
            &[(
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-attrs,cloud.provider=x,team=a",
            )],
            vec![],
        );
        assert_eq!(get(&r, "service.name"), Some(Value::from("from-attrs")));
        assert_eq!(get(&r, "cloud.provider"), Some(Value::from("x")));
        assert_eq!(get(&r, "team"), Some(Value::from("a")));
        let r = resource(
            &[
                ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
                ("OTEL_SERVICE_NAME", "svc"),
            ],
            vec![KeyValue::new("cloud.region", "eu-west-1")],
        );
        assert_eq!(get(&r, "service.name"), Some(Value::from("svc")));
        assert_eq!(get(&r, "cloud.region"), Some(Value::from("eu-west-1")));
    }
}
