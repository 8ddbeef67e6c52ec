//! The Runtime API 2018-06-01: `GET /runtime/invocation/next` (a long poll answered with the
//! event and the `Lambda-Runtime-*` headers), `POST /runtime/invocation/{id}/response`,
//! `POST /runtime/invocation/{id}/error`, `POST /runtime/init/error`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::reply::Reply;
use crate::request::Request;
use crate::state::Shared;

/// Handles `/2018-06-01/runtime/<rest>`.
pub(crate) fn handle(shared: &Arc<Shared>, request: &Request, rest: &str) -> Option<Reply> {
    match (request.method.as_str(), rest) {
        ("GET", "invocation/next") => next(shared),
        ("POST", "init/error") => Some(init_error(shared, request)),
        ("POST", tail) => {
            let Some((id, kind)) = tail
                .strip_prefix("invocation/")
                .and_then(|t| t.split_once('/'))
            else {
                return Some(not_found(request));
            };
            match kind {
                "response" => Some(answer(shared, id, request.body.clone(), None)),
                "error" => {
                    let error_type = request
                        .header("lambda-runtime-function-error-type")
                        .map(str::to_string)
                        .or_else(|| {
                            serde_json::from_slice::<serde_json::Value>(&request.body)
                                .ok()
                                .and_then(|v| v["errorType"].as_str().map(str::to_string))
                        })
                        .unwrap_or_else(|| "Unhandled".into());
                    Some(answer(shared, id, request.body.clone(), Some(error_type)))
                }
                _ => Some(not_found(request)),
            }
        }
        _ => Some(not_found(request)),
    }
}

fn not_found(request: &Request) -> Reply {
    Reply::error(
        404,
        "NotFound",
        &format!(
            "{} {} is not a Runtime API route",
            request.method, request.path
        ),
    )
}

/// The long poll: marks the runtime back (ending the previous invocation when the extensions
/// are back too) and waits for the next invocation to deliver.
fn next(shared: &Arc<Shared>) -> Option<Reply> {
    let mut state = shared.lock();
    if state.first_next.is_none() {
        state.first_next = Some(Instant::now());
        shared.emit(
            &mut state,
            "platform.initRuntimeDone",
            json!({ "initializationType": "on-demand", "phase": "init", "status": "success" }),
        );
        shared.changed.notify_all();
    }
    if let Some(inflight) = state.inflight.as_mut() {
        inflight.runtime_back = true;
    }
    shared.check_complete(&mut state);
    loop {
        if state.closed {
            return None;
        }
        if let Some((pending, deadline_ms)) = shared.try_deliver(&mut state) {
            let mut reply = Reply {
                status: 200,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Lambda-Runtime-Aws-Request-Id".into(), pending.id.clone()),
                    ("Lambda-Runtime-Deadline-Ms".into(), deadline_ms.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn".into(),
                        shared.arn.clone(),
                    ),
                    (
                        "Lambda-Runtime-Trace-Id".into(),
                        pending.trace_header.clone(),
                    ),
                ],
                body: pending.payload,
            };
            if let Some(context) = pending.client_context {
                reply = reply.with_header("Lambda-Runtime-Client-Context", &context);
            }
            return Some(reply);
        }
        state = shared.wait(state, Duration::from_secs(1));
    }
}

fn answer(shared: &Arc<Shared>, id: &str, body: Vec<u8>, error_type: Option<String>) -> Reply {
    let mut state = shared.lock();
    match shared.answer(&mut state, id, body, error_type) {
        Ok(()) => Reply::accepted(),
        Err(message) => Reply::error(400, "InvalidRequestID", &message),
    }
}

fn init_error(shared: &Arc<Shared>, request: &Request) -> Reply {
    let error_type = request
        .header("lambda-runtime-function-error-type")
        .unwrap_or("Runtime.Unknown")
        .to_string();
    let mut state = shared.lock();
    state.init_error = Some((error_type, request.body.clone()));
    shared.emit(
        &mut state,
        "platform.initRuntimeDone",
        json!({ "initializationType": "on-demand", "phase": "init", "status": "error" }),
    );
    shared.changed.notify_all();
    Reply::accepted()
}
