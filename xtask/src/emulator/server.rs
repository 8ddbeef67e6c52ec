//! The listener of the emulator's APIs: one accept thread, one thread per connection (the
//! runtime's and each extension's long polls block their own thread), keep-alive, and routing
//! by path prefix to the Runtime, Extensions and Telemetry APIs.

use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use serde_json::json;

use super::http::{self, Request};
use super::state::Shared;
use super::{extensions_api, runtime_api, telemetry_api};

/// An answer of a handler: status, headers, body. `None` from a handler closes the connection
/// without an answer (a long poll cut by the end of the environment).
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
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

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Serves the Lambda APIs of `shared` on `listener` until the environment is closed.
pub fn spawn_listener(listener: TcpListener, shared: Arc<Shared>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if shared.lock().closed {
                return;
            }
            let Ok(stream) = stream else { continue };
            let shared = shared.clone();
            std::thread::spawn(move || serve_connection(stream, |request| route(&shared, request)));
        }
    });
}

/// Reads requests from `stream` and answers each with `handler` until the peer closes, asks to
/// close, sends garbage, or the handler gives up.
pub fn serve_connection(stream: TcpStream, handler: impl Fn(&Request) -> Option<Reply>) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut stream = stream;
    let mut reader = BufReader::new(read_half);
    loop {
        let request = match http::read_request(&mut reader, &mut stream) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(err) => {
                let reply = Reply::error(400, "InvalidRequest", &format!("{err:#}"));
                let _ = http::write_response(&mut stream, reply.status, &[], &reply.body);
                return;
            }
        };
        let Some(reply) = handler(&request) else {
            return;
        };
        let headers: Vec<(&str, &str)> = reply
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if http::write_response(&mut stream, reply.status, &headers, &reply.body).is_err()
            || request.wants_close()
        {
            return;
        }
    }
}

/// Routes one request to its API.
fn route(shared: &Arc<Shared>, request: &Request) -> Option<Reply> {
    let path = request.path.as_str();
    if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") {
        runtime_api::handle(shared, request, rest)
    } else if let Some(rest) = path.strip_prefix("/2020-01-01/extension/") {
        extensions_api::handle(shared, request, rest)
    } else if path == "/2022-07-01/telemetry" || path == "/2020-08-15/logs" {
        Some(telemetry_api::subscribe(shared, request))
    } else {
        Some(Reply::error(
            404,
            "NotFound",
            &format!("{} {path} is not an API of this emulator", request.method),
        ))
    }
}
