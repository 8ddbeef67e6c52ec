//! What a fake answers to one request, and the per-request script of answers.

use std::collections::VecDeque;

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The normal answer: 200 (the OTLP receiver: an empty `Export*ServiceResponse`, in the
    /// request's encoding).
    Accept,
    /// This status, headers and body.
    Status {
        /// The status code.
        status: u16,
        /// Extra response headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// OTLP partial success: 200 with `partial_success` set (rejected items and a message).
    /// Other fakes answer it like [`Reply::Accept`].
    PartialSuccess {
        /// `rejected_spans` / `rejected_data_points` / `rejected_log_records`.
        rejected: i64,
        /// `error_message`.
        message: String,
    },
    /// Reads the request, then closes the connection without an answer.
    Close,
    /// Reads the request and never answers (the connection stays open).
    Stall,
}

impl Reply {
    /// Answers `status` with no body.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a response header (only to [`Reply::Status`]).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Status { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Adds `Retry-After: value` (only to [`Reply::Status`]).
    pub fn retry_after(self, value: &str) -> Self {
        self.header("retry-after", value)
    }

    /// Sets the body (only of [`Reply::Status`]).
    pub fn body(mut self, text: impl Into<Vec<u8>>) -> Self {
        if let Self::Status { body, .. } = &mut self {
            *body = text.into();
        }
        self
    }

    /// OTLP partial success.
    pub fn partial_success(rejected: i64, message: &str) -> Self {
        Self::PartialSuccess {
            rejected,
            message: message.to_owned(),
        }
    }

    /// The status this reply answers with (`None` when it never answers).
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Accept | Self::PartialSuccess { .. } => Some(200),
            Self::Status { status, .. } => Some(*status),
            Self::Close | Self::Stall => None,
        }
    }
}

/// Queued replies, one per request in arrival order, then the default.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    queue: VecDeque<Reply>,
    default: Reply,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            default: Reply::Accept,
        }
    }
}

impl Script {
    /// The reply for the next request.
    pub(crate) fn next(&mut self) -> Reply {
        self.queue
            .pop_front()
            .unwrap_or_else(|| self.default.clone())
    }

    /// Queues `replies` after those already queued.
    pub(crate) fn extend(&mut self, replies: impl IntoIterator<Item = Reply>) {
        self.queue.extend(replies);
    }

    /// The reply once the queue is empty.
    pub(crate) fn set_default(&mut self, reply: Reply) {
        self.default = reply;
    }
}
