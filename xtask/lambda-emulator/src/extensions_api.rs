//! The Extensions API 2020-01-01: `POST /extension/register` (returns
//! `Lambda-Extension-Identifier`), `GET /extension/event/next` (INVOKE and SHUTDOWN events),
//! `POST /extension/init/error`, `POST /extension/exit/error`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::ids;
use crate::registration::{self, Registration};
use crate::reply::Reply;
use crate::request::Request;
use crate::state::{Extension, Shared};

/// Handles `/2020-01-01/extension/<rest>`.
pub(crate) fn handle(shared: &Arc<Shared>, request: &Request, rest: &str) -> Option<Reply> {
    match (request.method.as_str(), rest) {
        ("POST", "register") => Some(register(shared, request)),
        ("GET", "event/next") => next(shared, request),
        ("POST", "init/error") | ("POST", "exit/error") => Some(error(shared, request, rest)),
        _ => Some(Reply::error(
            404,
            "NotFound",
            &format!(
                "{} {} is not an Extensions API route",
                request.method, request.path
            ),
        )),
    }
}

fn register(shared: &Arc<Shared>, request: &Request) -> Reply {
    let registration = match Registration::parse(request) {
        Ok(registration) => registration,
        Err(refusal) => return refusal,
    };
    let name = registration.name.as_str();
    let events = &registration.events;
    let mut state = shared.lock();
    if state.init_duration.is_some() {
        return Reply::error(
            403,
            "Extension.RegistrationPhaseEnded",
            "extensions register during the init phase only",
        );
    }
    if state.extensions.iter().any(|e| e.name == name) {
        return Reply::error(
            409,
            "Extension.AlreadyRegistered",
            &format!("{name} is registered already"),
        );
    }
    let id = ids::uuid();
    state.extensions.push(Extension {
        id: id.clone(),
        name: name.to_string(),
        invoke: registration.wants("INVOKE"),
        shutdown: registration.wants("SHUTDOWN"),
        pending: Default::default(),
        called_next: false,
        busy_with: None,
    });
    shared.emit(
        &mut state,
        "platform.extension",
        json!({ "name": name, "state": "Ready", "events": events }),
    );
    shared.notify_all();
    registration::registered(request, &shared.name, &shared.version, &id)
}

/// The extension's long poll: ends its part of the current invocation, then waits for its
/// next event.
fn next(shared: &Arc<Shared>, request: &Request) -> Option<Reply> {
    let id = request
        .header("lambda-extension-identifier")
        .unwrap_or_default()
        .to_string();
    let mut state = shared.lock();
    let Some(index) = state.extensions.iter().position(|e| e.id == id) else {
        return Some(registration::unknown_extension(&id));
    };
    let finished = state.extensions[index].busy_with.take();
    state.extensions[index].called_next = true;
    if let Some(finished) = finished
        && let Some(inflight) = state.inflight.as_mut()
        && inflight.id == finished
    {
        inflight.waiting_extensions.remove(&id);
    }
    // Both checks wake who waits for what they end (the report, the init phase).
    shared.check_complete(&mut state);
    shared.check_init(&mut state);
    loop {
        if let Some(event) = state.extensions[index].pending.pop_front() {
            if event["eventType"] == "INVOKE" {
                state.extensions[index].busy_with = event["requestId"].as_str().map(str::to_string);
            }
            return Some(
                Reply::json(200, &event)
                    .with_header("Lambda-Extension-Event-Identifier", &ids::uuid()),
            );
        }
        if state.closed {
            return None;
        }
        state = shared.wait(state, Duration::from_secs(1));
    }
}

fn error(shared: &Arc<Shared>, request: &Request, rest: &str) -> Reply {
    let id = request
        .header("lambda-extension-identifier")
        .unwrap_or_default();
    let mut state = shared.lock();
    let Some(name) = state.extension_name(id) else {
        return registration::unknown_extension(id);
    };
    let error_type = registration::error_type(request);
    let phase = if rest == "init/error" { "init" } else { "exit" };
    state.extension_errors.push((
        name,
        format!("{phase}: {error_type}"),
        String::from_utf8_lossy(&request.body).into_owned(),
    ));
    shared.notify_all();
    Reply::accepted()
}
