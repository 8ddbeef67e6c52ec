//! The two Extensions/Telemetry API calls the `lambda-extension` crate does not make for us:
//! the Telemetry API subscription ([`subscribe`]) and the init error ([`report_init_error`]).

use http::Method;
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};

use crate::platform_events::SCHEMA_VERSION;

use super::error::Error;

/// Subscribes to the platform events, delivered to `http://host:port`.
pub(crate) async fn subscribe(extension_id: &str, host: &str, port: u16) -> Result<(), Error> {
    let body = serde_json::json!({
        "schemaVersion": SCHEMA_VERSION,
        "types": ["platform"],
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
