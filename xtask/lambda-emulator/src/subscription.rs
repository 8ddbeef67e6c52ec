//! A Telemetry API subscription body (`PUT /2022-07-01/telemetry`, and the Logs API's
//! `PUT /2020-08-15/logs` of the same shape), validated as Lambda validates it: the HTTP
//! destination (`sandbox.localdomain` or `sandbox` mapped to `127.0.0.1`, as the tests do not
//! run inside a Lambda sandbox), the streams, the buffering limits and the schema version.

use std::time::Duration;

use serde_json::Value;

/// Buffering defaults and limits of the Telemetry API.
const DEFAULT_MAX_ITEMS: u64 = 1000;
const DEFAULT_MAX_BYTES: u64 = 256 * 1024;
const DEFAULT_TIMEOUT_MS: u64 = 1000;
const ITEMS: (u64, u64) = (1000, 10_000);
const BYTES: (u64, u64) = (256 * 1024, 1024 * 1024);
const TIMEOUT_MS: (u64, u64) = (25, 30_000);

/// The schema versions Lambda accepts (`2025-01-29` is the only one on Lambda Managed
/// Instances); a body without one is taken as the first.
pub(crate) const SCHEMA_VERSIONS: [&str; 3] = ["2022-07-01", "2022-12-13", "2025-01-29"];

/// Where and how to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    /// `host:port`, sandbox host names mapped to `127.0.0.1`.
    pub addr: String,
    /// The path to POST to.
    pub path: String,
    /// `buffering.maxItems`.
    pub max_items: usize,
    /// `buffering.maxBytes`.
    pub max_bytes: usize,
    /// `buffering.timeoutMs`.
    pub timeout: Duration,
}

impl Destination {
    /// `http://addr/path`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }
}

/// A valid subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// Where to deliver.
    pub destination: Destination,
    /// `platform`, `function`, `extension`.
    pub types: Vec<String>,
    /// `schemaVersion`.
    pub schema_version: String,
}

/// Validates a subscription body.
pub(crate) fn parse(body: &Value) -> Result<Subscription, String> {
    let schema_version = match body.get("schemaVersion") {
        None | Some(Value::Null) => SCHEMA_VERSIONS[0].to_string(),
        Some(v) => match v.as_str() {
            Some(version) if SCHEMA_VERSIONS.contains(&version) => version.to_string(),
            _ => {
                return Err(format!(
                    "schemaVersion {v} is not one of {}",
                    SCHEMA_VERSIONS.join(", ")
                ));
            }
        },
    };
    let destination = &body["destination"];
    let protocol = destination["protocol"].as_str().unwrap_or("HTTP");
    if protocol != "HTTP" {
        return Err(format!(
            "destination.protocol {protocol:?}: only HTTP is emulated"
        ));
    }
    let uri = destination["URI"]
        .as_str()
        .ok_or("destination.URI is missing")?;
    let rest = uri
        .strip_prefix("http://")
        .ok_or_else(|| format!("destination.URI {uri:?} is not http://..."))?;
    let (host_port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = host_port
        .rsplit_once(':')
        .ok_or_else(|| format!("destination.URI {uri:?} has no port"))?;
    let host = match host {
        "sandbox.localdomain" | "sandbox" | "localhost" => "127.0.0.1",
        other => other,
    };
    let types: Vec<String> = body["types"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if types.is_empty() {
        return Err("types must list at least one of platform, function, extension".into());
    }
    if let Some(bad) = types
        .iter()
        .find(|t| !matches!(t.as_str(), "platform" | "function" | "extension"))
    {
        return Err(format!(
            "type {bad:?} is not one of platform, function, extension"
        ));
    }
    let buffering = &body["buffering"];
    let field = |name: &str, default: u64, (lo, hi): (u64, u64)| -> Result<u64, String> {
        match buffering.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => match v.as_u64() {
                Some(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(format!("buffering.{name} {v} is not between {lo} and {hi}")),
            },
        }
    };
    let max_items = field("maxItems", DEFAULT_MAX_ITEMS, ITEMS)?;
    let max_bytes = field("maxBytes", DEFAULT_MAX_BYTES, BYTES)?;
    let timeout_ms = field("timeoutMs", DEFAULT_TIMEOUT_MS, TIMEOUT_MS)?;
    Ok(Subscription {
        destination: Destination {
            addr: format!("{host}:{port}"),
            path: path.to_string(),
            max_items: usize::try_from(max_items).unwrap_or(usize::MAX),
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            timeout: Duration::from_millis(timeout_ms),
        },
        types,
        schema_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_subscription_and_maps_the_sandbox_host() {
        let body = json!({
            "schemaVersion": "2022-12-13",
            "destination": { "protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/telemetry" },
            "types": ["platform", "function"],
            "buffering": { "maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25 },
        });
        let Subscription {
            destination,
            types,
            schema_version,
        } = parse(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(schema_version, "2022-12-13");
        assert_eq!(destination.addr, "127.0.0.1:8080");
        assert_eq!(destination.path, "/telemetry");
        assert_eq!(destination.timeout, Duration::from_millis(25));
        assert_eq!(types, ["platform", "function"]);
    }

    #[test]
    fn rejects_what_lambda_rejects() {
        let base = |buffering: Value, types: Value| {
            json!({ "destination": { "protocol": "HTTP", "URI": "http://sandbox:1/" },
                    "types": types, "buffering": buffering })
        };
        let err = parse(&base(json!({ "timeoutMs": 10 }), json!(["platform"]))).err();
        assert_eq!(
            err.as_deref(),
            Some("buffering.timeoutMs 10 is not between 25 and 30000")
        );
        let err = parse(&base(json!({}), json!(["platform", "metrics"]))).err();
        assert_eq!(
            err.as_deref(),
            Some("type \"metrics\" is not one of platform, function, extension")
        );
        let err = parse(&json!({ "schemaVersion": "2021-01-01", "destination": { "protocol": "HTTP", "URI": "http://sandbox:1/" }, "types": ["platform"] })).err();
        assert_eq!(
            err.as_deref(),
            Some("schemaVersion \"2021-01-01\" is not one of 2022-07-01, 2022-12-13, 2025-01-29")
        );
        let lmi = parse(
            &json!({ "schemaVersion": "2025-01-29", "destination": { "protocol": "HTTP", "URI": "http://sandbox:1/" }, "types": ["platform"] }),
        );
        assert_eq!(lmi.map(|s| s.schema_version).as_deref(), Ok("2025-01-29"));
        let err = parse(
            &json!({ "destination": { "protocol": "TCP", "URI": "x" }, "types": ["platform"] }),
        )
        .err();
        assert_eq!(
            err.as_deref(),
            Some("destination.protocol \"TCP\": only HTTP is emulated")
        );
    }
}
