//! One HTTP request as a fake saw it.

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::HeaderMap;

use crate::server::Incoming;

/// One request a fake received, numbered from the fake's [`crate::Sequence`].
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Its number in the shared sequence.
    pub seq: u64,
    /// When it arrived (monotonic).
    pub at: Instant,
    /// When it arrived (wall clock).
    pub wall: SystemTime,
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, e.g. `/v1/traces`.
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body as received (still compressed if it was).
    pub body: Bytes,
    /// The status answered; `None` when the fake closed the connection or never answered.
    pub status: Option<u16>,
}

impl Recorded {
    /// `incoming`, arrived now as request number `seq` and answered `status`.
    pub(crate) fn arrived(seq: u64, incoming: Incoming, status: Option<u16>) -> Self {
        Self {
            seq,
            at: Instant::now(),
            wall: SystemTime::now(),
            method: incoming.method,
            path: incoming.path,
            headers: incoming.headers,
            body: incoming.body,
            status,
        }
    }

    /// The value of header `name` (case-insensitive), if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
