//! The Runtime API 2018-06-01 as both modes speak it: which call a request is, the error type
//! of an `error` or `init/error` post, and the answer to `next` with its `Lambda-Runtime-*`
//! headers. The modes differ only in what they deliver and when (the environment's state
//! machine in `runtime_api.rs`, the test's queue in `scripted_runtime.rs`).

use crate::reply::Reply;
use crate::request::Request;

/// One Runtime API call, from the method and the path after `/2018-06-01/runtime/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuntimeCall<'a> {
    /// `GET invocation/next`.
    Next,
    /// `POST invocation/{id}/response`.
    Response(&'a str),
    /// `POST invocation/{id}/error`.
    Error(&'a str),
    /// `POST init/error`.
    InitError,
    /// Anything else.
    Unknown,
}

impl<'a> RuntimeCall<'a> {
    /// The call `method` `rest` is.
    pub fn parse(method: &str, rest: &'a str) -> Self {
        match (method, rest) {
            ("GET", "invocation/next") => Self::Next,
            ("POST", "init/error") => Self::InitError,
            ("POST", tail) => match tail
                .strip_prefix("invocation/")
                .and_then(|t| t.split_once('/'))
            {
                Some((id, "response")) => Self::Response(id),
                Some((id, "error")) => Self::Error(id),
                _ => Self::Unknown,
            },
            _ => Self::Unknown,
        }
    }
}

/// The error type of `POST invocation/{id}/error`: `Lambda-Runtime-Function-Error-Type`, else
/// the body's `errorType`, else `Unhandled`.
pub(crate) fn error_type(request: &Request) -> String {
    request
        .header("lambda-runtime-function-error-type")
        .map(str::to_string)
        .or_else(|| {
            serde_json::from_slice::<serde_json::Value>(&request.body)
                .ok()
                .and_then(|v| v["errorType"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "Unhandled".into())
}

/// The error type of `POST init/error`: `Lambda-Runtime-Function-Error-Type`, else
/// `Runtime.Unknown`.
pub(crate) fn init_error_type(request: &Request) -> String {
    request
        .header("lambda-runtime-function-error-type")
        .unwrap_or("Runtime.Unknown")
        .to_string()
}

/// `404` for a path that is no Runtime API route.
pub(crate) fn not_found(request: &Request) -> Reply {
    Reply::error(
        404,
        "NotFound",
        &format!(
            "{} {} is not a Runtime API route",
            request.method, request.path
        ),
    )
}

/// One invocation as `next` hands it to the runtime.
#[derive(Debug, Clone, Default)]
pub(crate) struct Delivery {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`, milliseconds since the epoch.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Trace-Id` (left out when `None`).
    pub trace_header: Option<String>,
    /// `Lambda-Runtime-Client-Context` (left out when `None`).
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity` (left out when `None`).
    pub cognito_identity: Option<String>,
    /// The event.
    pub payload: Vec<u8>,
}

impl Delivery {
    /// The `200` answer to `next`.
    pub fn into_reply(self) -> Reply {
        let mut reply = Reply {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Lambda-Runtime-Aws-Request-Id".into(), self.request_id),
                (
                    "Lambda-Runtime-Deadline-Ms".into(),
                    self.deadline_ms.to_string(),
                ),
                (
                    "Lambda-Runtime-Invoked-Function-Arn".into(),
                    self.invoked_function_arn,
                ),
            ],
            body: self.payload,
        };
        let optional = [
            ("Lambda-Runtime-Trace-Id", self.trace_header),
            ("Lambda-Runtime-Client-Context", self.client_context),
            ("Lambda-Runtime-Cognito-Identity", self.cognito_identity),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                reply = reply.with_header(name, &value);
            }
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_routes() {
        assert_eq!(
            RuntimeCall::parse("GET", "invocation/next"),
            RuntimeCall::Next
        );
        assert_eq!(
            RuntimeCall::parse("POST", "invocation/r-1/response"),
            RuntimeCall::Response("r-1")
        );
        assert_eq!(
            RuntimeCall::parse("POST", "invocation/r-1/error"),
            RuntimeCall::Error("r-1")
        );
        assert_eq!(
            RuntimeCall::parse("POST", "init/error"),
            RuntimeCall::InitError
        );
        for (method, rest) in [
            ("POST", "invocation/next"),
            ("GET", "invocation/r-1/response"),
            ("POST", "invocation/r-1/other"),
            ("POST", "invocation/r-1"),
            ("PUT", "init/error"),
        ] {
            assert_eq!(
                RuntimeCall::parse(method, rest),
                RuntimeCall::Unknown,
                "{method} {rest}"
            );
        }
    }

    #[test]
    fn error_types_come_from_the_header_then_the_body() {
        let mut request = Request {
            body: br#"{"errorType":"OrderError"}"#.to_vec(),
            ..Request::default()
        };
        assert_eq!(error_type(&request), "OrderError");
        assert_eq!(init_error_type(&request), "Runtime.Unknown");
        request.headers.push((
            "lambda-runtime-function-error-type".into(),
            "Runtime.Panic".into(),
        ));
        assert_eq!(error_type(&request), "Runtime.Panic");
        assert_eq!(init_error_type(&request), "Runtime.Panic");
        assert_eq!(error_type(&Request::default()), "Unhandled");
    }

    #[test]
    fn optional_headers_are_left_out_when_absent() {
        let bare = Delivery {
            request_id: "r-1".into(),
            deadline_ms: 42,
            invoked_function_arn: "arn".into(),
            payload: b"{}".to_vec(),
            ..Delivery::default()
        }
        .into_reply();
        let names: Vec<&str> = bare.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Content-Type",
                "Lambda-Runtime-Aws-Request-Id",
                "Lambda-Runtime-Deadline-Ms",
                "Lambda-Runtime-Invoked-Function-Arn"
            ]
        );
        let full = Delivery {
            trace_header: Some("Root=1-0-0".into()),
            client_context: Some("{}".into()),
            cognito_identity: Some(r#"{"cognitoIdentityId":"id"}"#.into()),
            ..Delivery::default()
        }
        .into_reply();
        assert!(full.headers.contains(&(
            "Lambda-Runtime-Cognito-Identity".into(),
            r#"{"cognitoIdentityId":"id"}"#.into()
        )));
        assert!(
            full.headers
                .contains(&("Lambda-Runtime-Trace-Id".into(), "Root=1-0-0".into()))
        );
    }
}
