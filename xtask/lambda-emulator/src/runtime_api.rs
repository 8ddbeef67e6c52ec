//! The Runtime API 2018-06-01: `GET /runtime/invocation/next` (a long poll answered with the
//! event and the `Lambda-Runtime-*` headers), `POST /runtime/invocation/{id}/response`,
//! `POST /runtime/invocation/{id}/error`, `POST /runtime/init/error`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::reply::Reply;
use crate::request::Request;
use crate::runtime_protocol::{self, Delivery, RuntimeCall};
use crate::state::Shared;

/// Handles `/2018-06-01/runtime/<rest>`.
pub(crate) fn handle(shared: &Arc<Shared>, request: &Request, rest: &str) -> Option<Reply> {
    match RuntimeCall::parse(&request.method, rest) {
        RuntimeCall::Next => next(shared),
        RuntimeCall::InitError => Some(init_error(shared, request)),
        RuntimeCall::Response(id) => Some(answer(shared, id, request.body.clone(), None)),
        RuntimeCall::Error(id) => Some(answer(
            shared,
            id,
            request.body.clone(),
            Some(runtime_protocol::error_type(request)),
        )),
        RuntimeCall::Unknown => Some(runtime_protocol::not_found(request)),
    }
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
        shared.notify_all();
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
            let delivery = Delivery {
                request_id: pending.id,
                deadline_ms,
                invoked_function_arn: shared.arn.clone(),
                trace_header: Some(pending.trace_header),
                client_context: pending.client_context,
                cognito_identity: None,
                payload: pending.payload,
            };
            return Some(delivery.into_reply());
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
    let error_type = runtime_protocol::init_error_type(request);
    let mut state = shared.lock();
    state.init_error = Some((error_type, request.body.clone()));
    shared.emit(
        &mut state,
        "platform.initRuntimeDone",
        json!({ "initializationType": "on-demand", "phase": "init", "status": "error" }),
    );
    shared.notify_all();
    Reply::accepted()
}
