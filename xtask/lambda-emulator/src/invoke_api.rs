//! The Lambda service's `Invoke` operation (`POST /2015-03-31/functions/{name}/invocations`)
//! for a set of [`Emulator`]s, so that a function whose AWS SDK has `AWS_ENDPOINT_URL_LAMBDA`
//! pointed here can invoke another one (Lambda -> Lambda), trace context included.
//!
//! Honoured: the function name as a name, an ARN or a partial ARN (percent-encoded or not),
//! `X-Amz-Invocation-Type` (`RequestResponse`, `Event` answered 202 and run in the background,
//! `DryRun` answered 204), `X-Amz-Client-Context` (base64 JSON, decoded for the runtime), and the
//! caller's `X-Amzn-Trace-Id` or `traceparent`. Answers carry `X-Amz-Executed-Version` and, for a
//! function error, `X-Amz-Function-Error: Unhandled`; an unknown function is the SDK's
//! `ResourceNotFoundException`. Not emulated: request signing checks, `X-Amz-Log-Type: Tail`.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::percent_decode_str;
use serde_json::json;

use crate::defaults::{ACCOUNT_ID, DEFAULT_REGION};
use crate::emulator::Emulator;
use crate::environment::Environment;
use crate::http_server::HttpServer;
use crate::invocation::InvokeOptions;
use crate::reply::Reply;
use crate::request::Request;

type Functions = Arc<Mutex<HashMap<String, Environment>>>;

/// The Invoke API on `127.0.0.1` and a free port. Dropping it stops the listener.
#[derive(Debug)]
pub struct InvokeApi {
    server: HttpServer,
    functions: Functions,
}

impl InvokeApi {
    /// Starts the listener; add functions with [`Self::add`].
    pub fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let functions: Functions = Arc::default();
        let routes = functions.clone();
        let server = HttpServer::start(
            listener,
            Arc::new(move |request: &Request| Some(handle(&routes, request))),
        )?;
        Ok(Self { server, functions })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The value for `AWS_ENDPOINT_URL_LAMBDA`: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Makes `emulator` invokable by its name (and ARN). The API keeps its environment alive
    /// for routing only: dropping the [`Emulator`] still ends it, and later invokes of it fail.
    pub fn add(&self, emulator: &Emulator) {
        self.functions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(emulator.name().to_string(), emulator.environment());
    }
}

/// The function name out of a path segment: `name`, `123456789012:function:name`,
/// `arn:aws:lambda:us-east-1:123456789012:function:name[:qualifier]`, percent-encoded or not.
fn function_name(segment: &str) -> String {
    let decoded = percent_decode_str(segment).decode_utf8_lossy().into_owned();
    match decoded.split(':').collect::<Vec<_>>().as_slice() {
        [.., "function", name] | [.., "function", name, _] => name.to_string(),
        [name, _qualifier] if !name.is_empty() => name.to_string(),
        _ => decoded,
    }
}

fn handle(functions: &Functions, request: &Request) -> Reply {
    let Some(segment) = request
        .path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .filter(|_| request.method == "POST")
    else {
        return Reply::error(
            404,
            "UnknownOperationException",
            &format!(
                "{} {} is not the Invoke operation",
                request.method, request.path
            ),
        );
    };
    let name = function_name(segment);
    let target = functions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&name)
        .cloned();
    let Some(target) = target else {
        let message = format!(
            "Function not found: arn:aws:lambda:{}:{}:function:{name}",
            DEFAULT_REGION, ACCOUNT_ID
        );
        return Reply::json(404, &json!({ "Type": "User", "message": message }))
            .with_header("x-amzn-ErrorType", "ResourceNotFoundException");
    };
    let client_context = match request.header("x-amz-client-context") {
        None => None,
        Some(encoded) => match base64_decode(encoded).and_then(|b| String::from_utf8(b).ok()) {
            Some(text) => Some(text),
            None => {
                return Reply::json(
                    400,
                    &json!({ "Type": "User", "message": "Client context must be a valid Base64-encoded JSON object." }),
                )
                .with_header("x-amzn-ErrorType", "InvalidRequestContentException");
            }
        },
    };
    let options = InvokeOptions {
        traceparent: request
            .header("x-amzn-trace-id")
            .or(request.header("traceparent"))
            .map(str::to_string),
        client_context,
    };
    let payload = if request.body.is_empty() {
        b"{}".to_vec()
    } else {
        request.body.clone()
    };
    match request
        .header("x-amz-invocation-type")
        .unwrap_or("RequestResponse")
    {
        "DryRun" => Reply::empty(204),
        "Event" => {
            std::thread::spawn(move || {
                if let Err(err) = target.invoke(&payload, options) {
                    eprintln!("lambda-emulator: asynchronous invoke failed: {err:#}");
                }
            });
            Reply::empty(202)
        }
        "RequestResponse" => match target.invoke(&payload, options) {
            Ok(result) => {
                let mut reply = Reply {
                    status: 200,
                    headers: vec![
                        ("Content-Type".into(), "application/json".into()),
                        ("X-Amz-Executed-Version".into(), "$LATEST".into()),
                    ],
                    body: result.body,
                };
                if result.error.is_some() {
                    reply = reply.with_header("X-Amz-Function-Error", "Unhandled");
                }
                reply
            }
            Err(err) => Reply::json(500, &json!({ "Type": "Service", "message": format!("{err:#}") }))
                .with_header("x-amzn-ErrorType", "ServiceException"),
        },
        other => Reply::json(
            400,
            &json!({ "Type": "User", "message": format!("InvocationType {other:?} is not RequestResponse, Event or DryRun") }),
        )
        .with_header("x-amzn-ErrorType", "InvalidParameterValueException"),
    }
}

/// Standard base64, padding optional (the SDKs pad; hand-made contexts often do not).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a base64 client context; `None` when it is not base64.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_out_of_arns_and_encodings() {
        assert_eq!(function_name("billing"), "billing");
        assert_eq!(function_name("billing:prod"), "billing");
        assert_eq!(
            function_name("arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Abilling"),
            "billing"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:billing:$LATEST"),
            "billing"
        );
        assert_eq!(function_name("123456789012:function:billing"), "billing");
    }

    #[test]
    fn decodes_base64() {
        assert_eq!(
            base64_decode("eyJhIjoxfQ==").as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(base64_decode("aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode("not base64!"), None);
    }
}
