//! The answer of an API handler: status, headers, body, in the shapes the Lambda APIs use.

use serde_json::{Value, json};

/// An answer of a handler. A handler that returns `None` instead leaves the request
/// unanswered (a long poll cut by the end of the environment; tiny_http then answers 500).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// An answer without a body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// An error in the shape the Lambda APIs use, `{"errorMessage":..,"errorType":..}`.
    pub fn error(status: u16, error_type: &str, message: &str) -> Self {
        Self::json(
            status,
            &json!({ "errorMessage": message, "errorType": error_type }),
        )
    }

    /// `202 {"status":"OK"}`, the acknowledgement of the Runtime and Extensions APIs.
    pub fn accepted() -> Self {
        Self::json(202, &json!({ "status": "OK" }))
    }

    /// `200 OK` as text, the Telemetry API's answer to a subscription.
    pub fn subscribed() -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: b"OK".to_vec(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The tiny_http response (headers that are not valid HTTP are left out).
    pub fn into_response(self) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let mut response = tiny_http::Response::from_data(self.body).with_status_code(self.status);
        for (name, value) in &self.headers {
            if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(header);
            }
        }
        response
    }
}
