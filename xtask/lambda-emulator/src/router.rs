//! Routing of one emulated environment's requests by path prefix to the Runtime, Extensions
//! and Telemetry APIs.

use std::sync::Arc;

use crate::reply::Reply;
use crate::request::Request;
use crate::state::Shared;
use crate::{extensions_api, runtime_api, telemetry_api};

/// Routes one request to its API.
pub(crate) fn route(shared: &Arc<Shared>, request: &Request) -> Option<Reply> {
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
