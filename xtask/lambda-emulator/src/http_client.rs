//! The emulator's HTTP client, ureq: one configuration for the Telemetry API deliveries and
//! the scripted mode's posts.

use std::time::Duration;

/// An agent that returns every status as a response (a subscriber's `500` is an answer, not a
/// transport error), ignores proxy variables (every destination is on this machine) and gives
/// up after `timeout`.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(timeout))
        .build()
        .into()
}
