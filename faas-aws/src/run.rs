//! One-call entry points: [`run`] for `lambda_runtime` handlers, [`run_http`] for
//! `lambda_http` services. Each sets up telemetry from the environment, the layers, the flush
//! after every invocation and the drain on SIGTERM, and serves invocations concurrently when
//! `AWS_LAMBDA_MAX_CONCURRENCY` is above 1 (Lambda Managed Instances), sequentially otherwise.

use std::fmt::{Debug, Display};
use std::sync::Arc;

use faas_core::env::Env;
use faas_core::environment::{FaasEnvironment, LocalEnvironment};
use faas_core::pipeline::Telemetry;
use lambda_runtime::{Diagnostic, LambdaEvent, Runtime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use crate::environment::LambdaEnvironment;
use crate::layer::FaasLayer;
use crate::outcome::OutcomeLayer;

/// The error of the entry points (the `lambda_runtime` error type).
pub type Error = lambda_runtime::Error;

/// Variables the Lambda runtime needs; checked up front so that a missing one is an error,
/// not `lambda_runtime`'s panic.
const REQUIRED: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

fn check_environment(env: &Env) -> Result<(), Error> {
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|v| !env.contains(v))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "not running under a Lambda Runtime API: {} unset (run it on Lambda, or locally under \
             `cargo lambda watch`)",
            missing.join(", ")
        )
        .into())
    }
}

/// Builds the telemetry of this Lambda function from the process environment: the Lambda
/// environment when detected, a local one otherwise. Does no network I/O.
pub fn telemetry_from_env() -> Result<Telemetry, Error> {
    let env = Env::process();
    let environment: Arc<dyn FaasEnvironment> = match LambdaEnvironment::from_env(&env) {
        Some(lambda) => Arc::new(lambda),
        None => Arc::new(LocalEnvironment::from_env(&env)),
    };
    Ok(Telemetry::builder_dyn(environment).build()?)
}

/// Runs a traced `lambda_runtime` handler (any `Service<LambdaEvent<A>>`, e.g. `service_fn`).
///
/// ```no_run
/// use lambda_runtime::{service_fn, Error, LambdaEvent};
/// use serde_json::{json, Value};
///
/// async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
///     Ok(json!({ "echo": event.payload }))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     faas_aws::run(service_fn(handler)).await
/// }
/// ```
pub async fn run<F, A, R>(handler: F) -> Result<(), Error>
where
    F: Service<LambdaEvent<A>, Response = R> + Clone + Send + 'static,
    F::Future: Send + 'static,
    F::Error: Display + Debug + Into<Diagnostic> + Send + 'static,
    A: DeserializeOwned + Send + 'static,
    R: Serialize + Send + Sync + 'static,
{
    check_environment(&Env::process())?;
    let telemetry = telemetry_from_env()?;
    telemetry.spawn_drain_on_termination();
    let runtime =
        Runtime::new(OutcomeLayer.layer(handler)).layer(FaasLayer::new(telemetry.clone()));
    let result = runtime.run_concurrent().await;
    telemetry.shutdown().await;
    result
}

/// Runs a traced `lambda_http` service (API Gateway REST and HTTP APIs, ALB, function URLs).
///
/// ```no_run
/// use lambda_http::{service_fn, Body, Error, Request, Response};
///
/// async fn hello(_request: Request) -> Result<Response<Body>, Error> {
///     Ok(Response::new(Body::from("hello")))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     faas_aws::run_http(service_fn(hello)).await
/// }
/// ```
#[cfg(feature = "http")]
pub async fn run_http<S, R>(service: S) -> Result<(), Error>
where
    S: Service<lambda_http::Request, Response = R> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Display + Debug + Into<Diagnostic> + Send + 'static,
    R: lambda_http::IntoResponse + Send + Sync + 'static,
{
    check_environment(&Env::process())?;
    let telemetry = telemetry_from_env()?;
    telemetry.spawn_drain_on_termination();
    let adapter = lambda_http::Adapter::from(crate::http_outcome::HttpOutcomeLayer.layer(service));
    let runtime = Runtime::new(adapter).layer(FaasLayer::new(telemetry.clone()));
    let result = runtime.run_concurrent().await;
    telemetry.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_runtime_variables_are_a_clear_error() {
        let err = check_environment(&Env::from_pairs([("AWS_LAMBDA_FUNCTION_NAME", "f")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("AWS_LAMBDA_RUNTIME_API"), "{err}");
        assert!(!err.contains("AWS_LAMBDA_FUNCTION_NAME,"), "{err}");
    }
}
