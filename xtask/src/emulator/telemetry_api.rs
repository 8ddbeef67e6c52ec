//! The Telemetry API 2022-07-01 (and the Logs API 2020-08-15, same subscription shape):
//! `PUT /2022-07-01/telemetry` subscribes an extension; the emulator then POSTs the events as
//! JSON arrays to the subscriber's destination, with `sandbox.localdomain` (or `sandbox`)
//! replaced by `127.0.0.1`, buffered as the subscription asks (`maxItems`, `timeoutMs`).
//! Platform events of the init phase emitted before the subscription are delivered too, as on
//! Lambda.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::{self, Request};
use super::server::Reply;
use super::state::{Shared, Subscriber};

/// Buffering defaults and limits of the Telemetry API.
const DEFAULT_MAX_ITEMS: u64 = 1000;
const DEFAULT_MAX_BYTES: u64 = 256 * 1024;
const DEFAULT_TIMEOUT_MS: u64 = 1000;
const ITEMS: (u64, u64) = (1000, 10_000);
const BYTES: (u64, u64) = (256 * 1024, 1024 * 1024);
const TIMEOUT_MS: (u64, u64) = (25, 30_000);

/// Where and how to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// `host:port`, sandbox host names mapped to `127.0.0.1`.
    pub addr: String,
    /// The path to POST to.
    pub path: String,
    pub max_items: usize,
    pub max_bytes: usize,
    pub timeout: Duration,
}

/// Handles the subscription `PUT`.
pub fn subscribe(shared: &Arc<Shared>, request: &Request) -> Reply {
    if request.method != "PUT" {
        return Reply::error(405, "MethodNotAllowed", "subscribe with PUT");
    }
    let id = request
        .header("lambda-extension-identifier")
        .unwrap_or_default();
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(err) => {
            return Reply::error(400, "ValidationError", &format!("body is not JSON: {err}"));
        }
    };
    let (destination, types) = match parse(&body) {
        Ok(parsed) => parsed,
        Err(message) => return Reply::error(400, "ValidationError", &message),
    };
    let mut state = shared.lock();
    let Some(name) = state
        .extensions
        .iter()
        .find(|e| e.id == id)
        .map(|e| e.name.clone())
    else {
        return Reply::error(
            403,
            "Extension.InvalidExtensionId",
            &format!("Lambda-Extension-Identifier {id:?} is not a registered extension"),
        );
    };
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || deliver(receiver, destination));
    // Init-phase platform events emitted so far: Lambda buffers them for subscribers.
    if types.iter().any(|t| t == "platform") && state.init_duration.is_none() {
        for event in &state.events {
            let _ = sender.send(event.clone());
        }
    }
    state.subscribers.push(Subscriber {
        extension: name.clone(),
        types: types.clone(),
        sender,
    });
    shared.emit(
        &mut state,
        "platform.telemetrySubscription",
        json!({ "name": name, "state": "Subscribed", "types": types }),
    );
    Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: b"OK".to_vec(),
    }
}

/// Validates a subscription body.
pub fn parse(body: &Value) -> Result<(Destination, Vec<String>), String> {
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
    Ok((
        Destination {
            addr: format!("{host}:{port}"),
            path: path.to_string(),
            max_items: usize::try_from(max_items).unwrap_or(usize::MAX),
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            timeout: Duration::from_millis(timeout_ms),
        },
        types,
    ))
}

/// The delivery thread of one subscriber: batches events for up to `timeout` or `max_items` /
/// `max_bytes`, POSTs each batch, and ends when the environment drops the channel (after
/// delivering what is left).
fn deliver(receiver: Receiver<Value>, destination: Destination) {
    while let Ok(first) = receiver.recv() {
        let mut bytes = first.to_string().len();
        let mut batch = vec![first];
        let until = Instant::now() + destination.timeout;
        let mut disconnected = false;
        while batch.len() < destination.max_items && bytes < destination.max_bytes {
            match receiver.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(event) => {
                    bytes += event.to_string().len();
                    batch.push(event);
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        let body = Value::Array(batch).to_string();
        // A subscriber that is gone or slow loses the batch, as on Lambda.
        let _ = http::send(
            &destination.addr,
            "POST",
            &destination.path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
            Duration::from_secs(5),
        );
        if disconnected {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_subscription_and_maps_the_sandbox_host() {
        let body = json!({
            "schemaVersion": "2022-12-13",
            "destination": { "protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/telemetry" },
            "types": ["platform", "function"],
            "buffering": { "maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25 },
        });
        let (destination, types) = parse(&body).unwrap_or_else(|e| panic!("{e}"));
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
