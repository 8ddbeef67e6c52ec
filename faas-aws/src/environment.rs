//! [`LambdaEnvironment`]: the AWS Lambda execution environment, read from its variables.

use faas_core::cost::{Architecture, PricePlan};
use faas_core::env::Env;
use faas_core::faas_environment::{FaasEnvironment, InitializationType};
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as attr;

/// The Lambda execution environment of this process.
///
/// Built from `AWS_LAMBDA_FUNCTION_NAME` (required: its presence is how Lambda is detected),
/// `AWS_LAMBDA_FUNCTION_VERSION`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (MB), `AWS_REGION`,
/// `AWS_LAMBDA_LOG_STREAM_NAME`, `AWS_LAMBDA_LOG_GROUP_NAME` and
/// `AWS_LAMBDA_INITIALIZATION_TYPE`. No ARN is in the environment: `cloud.account.id`,
/// `cloud.resource_id` and `aws.lambda.invoked_arn` come from each invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaEnvironment {
    /// `faas.name`.
    pub function_name: String,
    /// `faas.version`.
    pub function_version: Option<String>,
    /// Configured memory in MB.
    pub memory_mb: Option<u64>,
    /// `cloud.region`.
    pub region: Option<String>,
    /// `faas.instance`: the log stream name.
    pub log_stream: Option<String>,
    /// `aws.log.group.names`.
    pub log_group: Option<String>,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE` as given.
    pub initialization_type: Option<String>,
}

impl LambdaEnvironment {
    /// Reads the variables; `None` when `AWS_LAMBDA_FUNCTION_NAME` is unset (not on Lambda).
    /// A malformed memory size is ignored rather than failing start-up.
    pub fn from_env(env: &Env) -> Option<Self> {
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

/// Detector for [`faas_core::faas_environment::detect`].
pub fn detect(env: &Env) -> Option<Box<dyn FaasEnvironment>> {
    LambdaEnvironment::from_env(env).map(|e| Box::new(e) as Box<dyn FaasEnvironment>)
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
        Some(crate::pricing::lambda_plan())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::{Key, Value};

    fn lambda_env() -> Env {
        Env::from_pairs([
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/26/[$LATEST]abc"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders"),
        ])
    }

    #[test]
    fn resource_follows_the_lambda_conventions() {
        let env = LambdaEnvironment::from_env(&lambda_env()).unwrap();
        let config = faas_core::config::TelemetryConfig::from_env(&Env::default()).unwrap();
        let resource = faas_core::resource::build_resource(&env, &config, vec![]);
        let get = |k: &'static str| resource.get(&Key::from_static_str(k));
        assert_eq!(get("cloud.provider"), Some(Value::from("aws")));
        assert_eq!(get("cloud.platform"), Some(Value::from("aws_lambda")));
        assert_eq!(get("cloud.region"), Some(Value::from("eu-west-1")));
        assert_eq!(get("faas.name"), Some(Value::from("orders")));
        assert_eq!(get("faas.version"), Some(Value::from("$LATEST")));
        assert_eq!(
            get("faas.instance"),
            Some(Value::from("2026/11/26/[$LATEST]abc"))
        );
        assert_eq!(get("faas.max_memory"), Some(Value::I64(536_870_912)));
        assert_eq!(get("service.name"), Some(Value::from("orders")));
        assert_eq!(
            get("aws.log.group.names"),
            Some(Value::Array(
                vec![opentelemetry::StringValue::from("/aws/lambda/orders")].into()
            ))
        );
    }

    #[test]
    fn detection_needs_the_function_name() {
        assert!(detect(&lambda_env()).is_some());
        assert!(detect(&Env::from_pairs([("AWS_REGION", "us-east-1")])).is_none());
    }

    #[test]
    fn initialization_types_map_to_visible_or_not() {
        let with = |t: &str| {
            let mut pairs = vec![("AWS_LAMBDA_FUNCTION_NAME", "f")];
            pairs.push(("AWS_LAMBDA_INITIALIZATION_TYPE", t));
            LambdaEnvironment::from_env(&Env::from_pairs(pairs))
                .unwrap()
                .initialization_type()
        };
        assert!(with("on-demand").is_user_visible_cold_start());
        assert!(!with("provisioned-concurrency").is_user_visible_cold_start());
        assert!(!with("snap-start").is_user_visible_cold_start());
        assert!(!with("lambda-managed-instances").is_user_visible_cold_start());
        assert_eq!(
            with("lambda-managed-instances").as_str(),
            "lambda-managed-instances"
        );
    }
}
