//! The two Extensions/Telemetry API calls the `lambda-extension` crate does not make for us:
//! the Telemetry API subscription ([`subscribe`]) and the init error ([`report_init_error`]).

use http::Method;
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};

use crate::config::LogStreams;
use crate::platform_events::{MANAGED_INSTANCES_SCHEMA_VERSION, SCHEMA_VERSION};

use super::error::Error;

/// The streams to subscribe to: `platform`, and the log streams that are on.
pub(crate) fn telemetry_types(logs: LogStreams) -> Vec<&'static str> {
    let mut types = vec!["platform"];
    if logs.function {
        types.push("function");
    }
    if logs.extension {
        types.push("extension");
    }
    types
}

/// The schema version to subscribe with: [`MANAGED_INSTANCES_SCHEMA_VERSION`] on Lambda
/// Managed Instances (the only one they accept), else [`SCHEMA_VERSION`].
pub(crate) fn schema_version(managed_instances: bool) -> &'static str {
    if managed_instances {
        MANAGED_INSTANCES_SCHEMA_VERSION
    } else {
        SCHEMA_VERSION
    }
}

/// Subscribes to the `types` streams (see [`telemetry_types`]) with `schema_version`,
/// delivered to `http://host:port`.
pub(crate) async fn subscribe(
    extension_id: &str,
    (host, port): (&str, u16),
    schema_version: &str,
    types: &[&str],
) -> Result<(), Error> {
    let body = serde_json::json!({
        "schemaVersion": schema_version,
        "types": types,
        "buffering": { "maxItems": 1000, "maxBytes": 262_144, "timeoutMs": 25 },
        "destination": { "protocol": "HTTP", "URI": format!("http://{host}:{port}") },
    });
    let request = build_request()
        .method(Method::PUT)
        .uri("/2022-07-01/telemetry")
        .header("Lambda-Extension-Identifier", extension_id)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))?;
    let response = Client::builder().build()?.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("the Telemetry API answered {}", response.status()).into());
    }
    Ok(())
}

/// Tells the platform why the extension cannot start (`Extension.ConfigError`), after logging
/// it; a failure to tell is ignored (the extension exits non-zero either way).
pub(crate) async fn report_init_error(extension_id: &str, message: &str) {
    eprintln!("faas-otel-extension: {message}");
    let body = serde_json::json!({ "errorMessage": message, "errorType": "Extension.ConfigError" });
    let request = build_request()
        .method(Method::POST)
        .uri("/2020-01-01/extension/init/error")
        .header("Lambda-Extension-Identifier", extension_id)
        .header(
            "Lambda-Extension-Function-Error-Type",
            "Extension.ConfigError",
        )
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()));
    if let (Ok(request), Ok(client)) = (request, Client::builder().build()) {
        let _ = client.call(request).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_schema() {
        let streams = |function, extension| LogStreams {
            function,
            extension,
        };
        assert_eq!(
            telemetry_types(streams(true, false)),
            ["platform", "function"]
        );
        assert_eq!(
            telemetry_types(streams(true, true)),
            ["platform", "function", "extension"]
        );
        assert_eq!(
            telemetry_types(streams(false, true)),
            ["platform", "extension"]
        );
        assert_eq!(telemetry_types(streams(false, false)), ["platform"]);
        assert_eq!(schema_version(true), "2025-01-29");
        assert_eq!(schema_version(false), "2022-12-13");
    }
}
