//! The custom-handler invoke protocol: [`InvokeRequest`] (what the Functions host POSTs to
//! `/<FunctionName>`) and [`InvokeResponse`] (what the handler answers).
//!
//! For every function that is not a forwarded HTTP function, the host sends
//!
//! ```json
//! {
//!   "Data": { "<trigger or input binding name>": <value>, ... },
//!   "Metadata": { "<trigger metadata>": <value>, ..., "sys": { "MethodName": "...", "UtcNow": "...", "RandGuid": "..." } }
//! }
//! ```
//!
//! and expects a 2xx answer with
//!
//! ```json
//! { "Outputs": { "<output binding name>": <value> }, "Logs": ["..."], "ReturnValue": <value> }
//! ```
//!
//! Any other status fails the invocation (the host retries queue messages). The host writes
//! scalar values it cannot turn into a JSON object as JSON *text*, so a queue message id may
//! arrive as `"Id": "\"800ae4b3-...\""`; [`InvokeRequest::metadata_str`] and
//! [`InvokeRequest::data_str`] undo that, and accept the plain form too.
//!
//! Both types are axum extractors / responses, so a handler reads:
//!
//! ```
//! use faas_azure::{InvokeRequest, InvokeResponse};
//!
//! async fn orders(request: InvokeRequest) -> InvokeResponse {
//!     let order = request.data_str("order").unwrap_or_default();
//!     InvokeResponse::new()
//!         .with_log(format!("processing {order}"))
//!         .with_return_value(serde_json::json!({ "accepted": true }))
//! }
//! let _router: axum::Router = axum::Router::new().route("/orders", axum::routing::post(orders));
//! ```

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest invoke-protocol body read (Service Bus premium messages reach 100 MB; the
/// host's HTTP request limit is 100 MB too).
pub const MAX_BODY_BYTES: usize = 100 * 1024 * 1024;

/// The body of an invoke-protocol request: `{"Data": {...}, "Metadata": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvokeRequest {
    /// The trigger's and the input bindings' values, by binding name (function.json `name`).
    #[serde(rename = "Data", default)]
    pub data: Map<String, Value>,
    /// The trigger metadata (queue `Id`, `DequeueCount`, Service Bus `MessageId`, ...) and
    /// `sys`.
    #[serde(rename = "Metadata", default)]
    pub metadata: Map<String, Value>,
}

/// `Metadata.sys`: what the host says about the call itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysMetadata {
    /// The function's name.
    #[serde(rename = "MethodName", default)]
    pub method_name: Option<String>,
    /// When the host started the invocation (ISO 8601).
    #[serde(rename = "UtcNow", default)]
    pub utc_now: Option<String>,
    /// A random GUID for the invocation.
    #[serde(rename = "RandGuid", default)]
    pub rand_guid: Option<String>,
}

/// An HTTP trigger's value in `Data` when the request is *not* forwarded (the function has
/// other bindings, or `enableForwardingHttpRequest` is off).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpTriggerRequest {
    /// The original URL, scheme to query.
    #[serde(rename = "Url", default)]
    pub url: String,
    /// The HTTP method.
    #[serde(rename = "Method", default)]
    pub method: String,
    /// The query: an object of parameters (newer hosts) or the query string (older ones).
    #[serde(rename = "Query", default)]
    pub query: Value,
    /// The request headers; each value is a list (the host's `StringValues`) or a string.
    #[serde(rename = "Headers", default)]
    pub headers: Map<String, Value>,
    /// Route parameters.
    #[serde(rename = "Params", default)]
    pub params: Map<String, Value>,
    /// The body, when there is one.
    #[serde(rename = "Body", default)]
    pub body: Option<Value>,
}

impl HttpTriggerRequest {
    /// The headers as `name → first value`.
    pub fn header_map(&self) -> HashMap<String, String> {
        self.headers
            .iter()
            .filter_map(|(name, value)| {
                let first = match value {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                }?;
                Some((name.clone(), first))
            })
            .collect()
    }
}

/// An HTTP output binding's value (`Outputs.<res>`), as the host reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpBindingResponse {
    /// The status code.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// The body.
    #[serde(rename = "body", skip_serializing_if = "Option::is_none", default)]
    pub body: Option<Value>,
    /// Response headers.
    #[serde(rename = "headers", skip_serializing_if = "HashMap::is_empty", default)]
    pub headers: HashMap<String, String>,
}

impl InvokeRequest {
    /// Parses a request body.
    pub fn from_slice(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The value of binding `name` in `Data`.
    pub fn data(&self, name: &str) -> Option<&Value> {
        self.data.get(name)
    }

    /// The value of binding `name` as text: a string (unquoted when the host sent it as JSON
    /// text), or the JSON of any other value.
    pub fn data_str(&self, name: &str) -> Option<String> {
        self.data.get(name).map(text)
    }

    /// The value of binding `name` parsed as `T`: when it is a string holding JSON (a queue
    /// message, even JSON-quoted), from that JSON; otherwise from the value itself.
    pub fn data_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        let value = self.data.get(name)?;
        if let Value::String(text) = value
            && let Ok(parsed) = serde_json::from_str(&unquote(text))
        {
            return Some(parsed);
        }
        T::deserialize(value).ok()
    }

    /// Metadata `key` as text (unquoted; numbers and booleans as written).
    pub fn metadata_str(&self, key: &str) -> Option<String> {
        self.metadata
            .get(key)
            .filter(|v| !v.is_null())
            .map(text)
            .filter(|s| !s.is_empty())
    }

    /// Metadata `key` as an object, also when the host sent it as JSON text.
    pub fn metadata_object(&self, key: &str) -> Option<Map<String, Value>> {
        match self.metadata.get(key)? {
            Value::Object(map) => Some(map.clone()),
            Value::String(s) => serde_json::from_str(s)
                .ok()
                .or_else(|| serde_json::from_str(&unquote(s)).ok()),
            _ => None,
        }
    }

    /// `Metadata.sys`.
    pub fn sys(&self) -> Option<SysMetadata> {
        let sys = self.metadata_object("sys")?;
        SysMetadata::deserialize(Value::Object(sys)).ok()
    }

    /// The HTTP trigger binding `name` (`Data.req`, say), when the request was not forwarded.
    pub fn http_request(&self, name: &str) -> Option<HttpTriggerRequest> {
        HttpTriggerRequest::deserialize(self.data.get(name)?).ok()
    }
}

/// A string value unquoted; anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => unquote(s),
        other => other.to_string(),
    }
}

/// `"\"abc\""` → `abc`: the host serializes scalars it cannot make an object of as JSON text.
fn unquote(s: &str) -> String {
    if s.len() >= 2
        && s.starts_with('"')
        && s.ends_with('"')
        && let Ok(inner) = serde_json::from_str::<String>(s)
    {
        return inner;
    }
    s.to_owned()
}

/// The answer to an invoke-protocol request: `{"Outputs": {...}, "Logs": [...], "ReturnValue": ...}`.
///
/// As an axum response it is `200 OK` with that JSON body; answer with an error status (for
/// example `(StatusCode::INTERNAL_SERVER_ERROR, response)`) to fail the invocation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvokeResponse {
    /// Output binding values by binding name.
    #[serde(rename = "Outputs", default)]
    pub outputs: Map<String, Value>,
    /// Lines the host writes to the function's log.
    #[serde(rename = "Logs", default)]
    pub logs: Vec<String>,
    /// The `$return` binding's value.
    #[serde(rename = "ReturnValue", default)]
    pub return_value: Option<Value>,
}

impl InvokeResponse {
    /// An empty response: no outputs, no logs, `ReturnValue: null`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets output binding `name`.
    pub fn with_output(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.outputs.insert(name.into(), value.into());
        self
    }

    /// Sets the HTTP output binding `name` (`res`, say).
    pub fn with_http_output(
        mut self,
        name: impl Into<String>,
        response: HttpBindingResponse,
    ) -> Self {
        let value = serde_json::to_value(response).unwrap_or(Value::Null);
        self.outputs.insert(name.into(), value);
        self
    }

    /// Adds a log line.
    pub fn with_log(mut self, line: impl Into<String>) -> Self {
        self.logs.push(line.into());
        self
    }

    /// Sets the return value (`$return` binding).
    pub fn with_return_value(mut self, value: impl Into<Value>) -> Self {
        self.return_value = Some(value.into());
        self
    }
}

impl IntoResponse for InvokeResponse {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The sample request of the custom-handler documentation (queue trigger, function.json
    /// binding `myQueueItem`), with `Id` as the host really writes scalars (JSON text).
    const QUEUE_SAMPLE: &str = r#"{
      "Data": { "myQueueItem": "{ message: \"Message sent\" }" },
      "Metadata": {
        "DequeueCount": 1,
        "ExpirationTime": "2019-10-16T17:58:31+00:00",
        "Id": "\"800ae4b3-bdf3-4ef0-9c52-af6d5d2e1e5e\"",
        "InsertionTime": "2019-10-09T17:58:31+00:00",
        "NextVisibleTime": "2019-10-09T18:08:32+00:00",
        "PopReceipt": "AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
        "sys": {
          "MethodName": "QueueTrigger",
          "UtcNow": "2019-10-09T17:58:32.2205399Z",
          "RandGuid": "24ed7b8d-9a16-4ecc-8d52-0a5c5cd3ef66"
        }
      }
    }"#;

    #[test]
    fn documented_queue_request() {
        let request = InvokeRequest::from_slice(QUEUE_SAMPLE.as_bytes()).unwrap();
        assert_eq!(
            request.data_str("myQueueItem").unwrap(),
            "{ message: \"Message sent\" }"
        );
        assert_eq!(
            request.metadata_str("Id").unwrap(),
            "800ae4b3-bdf3-4ef0-9c52-af6d5d2e1e5e"
        );
        assert_eq!(request.metadata_str("DequeueCount").unwrap(), "1");
        assert_eq!(
            request.metadata_str("PopReceipt").unwrap(),
            "AgAAAAMAAAAAAAAAAgtnj8x+1QE="
        );
        assert_eq!(request.metadata_str("Missing"), None);
        assert_eq!(
            request.sys().unwrap(),
            SysMetadata {
                method_name: Some("QueueTrigger".into()),
                utc_now: Some("2019-10-09T17:58:32.2205399Z".into()),
                rand_guid: Some("24ed7b8d-9a16-4ecc-8d52-0a5c5cd3ef66".into()),
            }
        );
        // Not JSON (unquoted key): no typed value, the text itself as a string.
        assert_eq!(
            request.data_json::<HashMap<String, String>>("myQueueItem"),
            None
        );
        assert_eq!(
            request.data_json::<String>("myQueueItem").unwrap(),
            "{ message: \"Message sent\" }"
        );
    }

    #[test]
    fn json_queue_messages_parse_whatever_the_quoting() {
        for data in [
            serde_json::json!({"order": {"id": 7}}),
            serde_json::json!({"order": "{\"id\":7}"}),
            serde_json::json!({"order": "\"{\\\"id\\\":7}\""}),
        ] {
            let request = InvokeRequest {
                data: data.as_object().unwrap().clone(),
                metadata: Map::new(),
            };
            let order: Value = request.data_json("order").unwrap();
            assert_eq!(order["id"], 7, "{data}");
        }
    }

    #[test]
    fn http_trigger_data_with_list_headers() {
        let body = serde_json::json!({
            "Data": {"req": {
                "Url": "https://shop.azurewebsites.net/api/hello?name=ann",
                "Method": "GET",
                "Query": {"name": "ann"},
                "Headers": {"Traceparent": ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], "Host": "shop"},
                "Params": {}
            }},
            "Metadata": {"sys": {"MethodName": "hello"}}
        });
        let request: InvokeRequest = serde_json::from_value(body).unwrap();
        let http = request.http_request("req").unwrap();
        assert_eq!(http.method, "GET");
        assert_eq!(http.query["name"], "ann");
        let headers = http.header_map();
        assert_eq!(
            headers["Traceparent"],
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
        assert_eq!(headers["Host"], "shop");
        assert_eq!(request.sys().unwrap().method_name.as_deref(), Some("hello"));
        // Data or Metadata missing: still a request, empty.
        assert_eq!(
            InvokeRequest::from_slice(b"{}").unwrap(),
            InvokeRequest::default()
        );
        assert!(InvokeRequest::from_slice(b"[1]").is_err());
    }

    #[test]
    fn response_shape() {
        let response = InvokeResponse::new()
            .with_output("message", "hello")
            .with_http_output(
                "res",
                HttpBindingResponse {
                    status_code: 201,
                    body: Some("done".into()),
                    headers: HashMap::new(),
                },
            )
            .with_log("one")
            .with_return_value(serde_json::json!({"ok": true}));
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::json!({
                "Outputs": {"message": "hello", "res": {"statusCode": 201, "body": "done"}},
                "Logs": ["one"],
                "ReturnValue": {"ok": true}
            })
        );
        assert_eq!(
            serde_json::to_value(InvokeResponse::new()).unwrap(),
            serde_json::json!({"Outputs": {}, "Logs": [], "ReturnValue": null})
        );
    }
}
