//! The Telemetry API 2022-07-01 (and the Logs API 2020-08-15, same subscription shape) of an
//! emulated environment: `PUT /2022-07-01/telemetry` subscribes an extension; the emulator then
//! POSTs the events to the subscriber's destination ([`crate::telemetry_delivery`]). Platform
//! events of the init phase emitted before the subscription are delivered too, as on Lambda.

use std::sync::Arc;
use std::sync::mpsc;

use serde_json::{Value, json};

use crate::registration;
use crate::reply::Reply;
use crate::request::Request;
use crate::state::{Shared, Subscriber};
use crate::subscription;
use crate::telemetry_delivery;

/// Handles the subscription `PUT`.
pub(crate) fn subscribe(shared: &Arc<Shared>, request: &Request) -> Reply {
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
    let subscription = match subscription::parse(&body) {
        Ok(parsed) => parsed,
        Err(message) => return Reply::error(400, "ValidationError", &message),
    };
    let mut state = shared.lock();
    let Some(name) = state.extension_name(id) else {
        return registration::unknown_extension(id);
    };
    let (sender, receiver) = mpsc::channel();
    let destination = subscription.destination;
    std::thread::spawn(move || telemetry_delivery::deliver(receiver, destination));
    let types = subscription.types;
    // Init-phase platform events emitted so far: Lambda buffers them for subscribers.
    if types.iter().any(|t| t == "platform") && state.init_duration.is_none() {
        for event in &state.events {
            let _ = sender.send(event.clone());
        }
    }
    state.subscribers.push(Subscriber {
        types: types.clone(),
        sender,
    });
    shared.emit(
        &mut state,
        "platform.telemetrySubscription",
        json!({ "name": name, "state": "Subscribed", "types": types }),
    );
    Reply::subscribed()
}
