//! Delivery of Telemetry API events to one subscriber, as Lambda does it: events batched for
//! up to `buffering.timeoutMs` or `maxItems` / `maxBytes`, each batch POSTed as a JSON array
//! with ureq.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http_client;
use crate::subscription::Destination;

/// The delivery thread of one subscriber: batches events for up to `timeout` or `max_items` /
/// `max_bytes`, POSTs each batch, and ends when the environment drops the channel (after
/// delivering what is left).
pub(crate) fn deliver(receiver: Receiver<Value>, destination: Destination) {
    let agent = http_client::agent(Duration::from_secs(5));
    let url = destination.url();
    while let Ok(first) = receiver.recv() {
        let mut bytes = first.to_string().len();
        let mut batch = vec![first];
        let until = Instant::now() + destination.timeout;
        let mut disconnected = false;
        while batch.len() < destination.max_items && bytes < destination.max_bytes {
            match receiver.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(event) => {
                    bytes += event.to_string().len();
                    batch.push(event);
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        let body = Value::Array(batch).to_string();
        // A subscriber that is gone or slow loses the batch, as on Lambda.
        let _ = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.as_bytes());
        if disconnected {
            return;
        }
    }
}
