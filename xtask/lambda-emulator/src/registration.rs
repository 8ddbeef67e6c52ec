//! What an extension's `POST /2020-01-01/extension/register` asks for, and the error type of
//! its `init/error` and `exit/error` calls: read the same way by the emulated environment and
//! by the scripted mode.

use serde_json::{Value, json};

use crate::defaults::ACCOUNT_ID;

use crate::reply::Reply;
use crate::request::Request;

/// A parsed registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registration {
    /// `Lambda-Extension-Name`.
    pub name: String,
    /// The `events` of the body, as given.
    pub events: Vec<String>,
}

impl Registration {
    /// Reads the name header and the body; the Extensions API's `400` when either is missing or
    /// malformed, or an event is not `INVOKE` or `SHUTDOWN`.
    pub fn parse(request: &Request) -> Result<Self, Reply> {
        let Some(name) = request
            .header("lambda-extension-name")
            .filter(|n| !n.is_empty())
        else {
            return Err(Reply::error(
                400,
                "InvalidRequest",
                "the Lambda-Extension-Name header is missing",
            ));
        };
        let body = serde_json::from_slice::<Value>(&request.body).map_err(|err| {
            Reply::error(400, "InvalidRequest", &format!("body is not JSON: {err}"))
        })?;
        let events: Vec<String> = body["events"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = events
            .iter()
            .find(|e| !matches!(e.as_str(), "INVOKE" | "SHUTDOWN"))
        {
            return Err(Reply::error(
                400,
                "InvalidRequest",
                &format!("event {bad:?} is not one of INVOKE, SHUTDOWN"),
            ));
        }
        Ok(Self {
            name: name.to_string(),
            events,
        })
    }

    /// Whether it asked for `event` (`INVOKE`, `SHUTDOWN`).
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }

    /// Whether the caller accepts the `accountId` field in the answer
    /// (`Lambda-Extension-Accept-Feature: accountId`).
    pub fn accepts_account_id(request: &Request) -> bool {
        request
            .header("lambda-extension-accept-feature")
            .is_some_and(|f| f.split(',').any(|f| f.trim() == "accountId"))
    }
}

/// `Lambda-Extension-Function-Error-Type` of an `init/error` or `exit/error` call.
pub(crate) fn error_type(request: &Request) -> String {
    request
        .header("lambda-extension-function-error-type")
        .unwrap_or("Extension.Unknown")
        .to_string()
}

/// The answer to a call with an identifier that is not a registered extension.
pub(crate) fn unknown_extension(id: &str) -> Reply {
    Reply::error(
        403,
        "Extension.InvalidExtensionId",
        &format!("Lambda-Extension-Identifier {id:?} is not a registered extension"),
    )
}

/// The answer to an accepted `register`: the function's name and version, the handler, the
/// account id when the extension asked for it, and its identifier header.
pub(crate) fn registered(request: &Request, function: &str, version: &str, id: &str) -> Reply {
    let mut body = json!({
        "functionName": function,
        "functionVersion": version,
        "handler": "bootstrap",
    });
    if Registration::accepts_account_id(request) {
        body["accountId"] = json!(ACCOUNT_ID);
    }
    Reply::json(200, &body).with_header("Lambda-Extension-Identifier", id)
}
