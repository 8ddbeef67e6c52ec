//! The Telemetry API listener: the platform POSTs batches of events (a JSON array) here.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;

use crate::lock::lock;
use crate::platform_events::parse_batch;
use crate::state::Shared;

/// Largest batch accepted (the subscription asks for at most 256 KiB).
const MAX_BATCH: usize = 1 << 20;

/// The listener's routes: `POST /` (and any path, as the destination URI names it).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", post(events))
        .route("/{*path}", post(events))
        .layer(DefaultBodyLimit::max(MAX_BATCH))
        .with_state(shared)
}

async fn events(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let Ok(events) = parse_batch(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    {
        let mut done = lock(&shared.runtime_done);
        for event in &events {
            if let Some(id) = event.runtime_done_request_id() {
                done.insert(id.to_owned());
            }
        }
    }
    lock(&shared.platform).on_events(&events);
    crate::function_logs::on_batch(
        &shared.platform,
        &shared.logs,
        (&shared.buffer, &shared.drops),
        &body,
        &events,
    );
    shared.arrived.notify_waiters();
    StatusCode::OK
}
