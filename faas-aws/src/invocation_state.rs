//! What the handler tells the layer about its invocation, carried in the OpenTelemetry
//! context: the outcome (error, panic), the HTTP status and the SQS batch item failures.
//!
//! The layer sits outside `lambda_runtime`'s response handling, which posts errors itself and
//! hands the layer nothing but `()`; the inner wrappers ([`crate::OutcomeLayer`] and, for
//! `lambda_http`, [`crate::HttpOutcomeLayer`]) record into this state instead. Each invocation
//! has its own state, so concurrent invocations never mix.

use std::sync::{Arc, Mutex};

use faas_core::invocation::Outcome;
use opentelemetry::Context;
use tokio::sync::Notify;

/// Facts the handler reports about one invocation.
#[derive(Debug, Default)]
pub struct InvocationState {
    inner: Mutex<Facts>,
    /// Notified once the handler ended and its facts are recorded ([`Self::handler_ended`]).
    ended: Notify,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Facts {
    pub(crate) outcome: Option<Outcome>,
    pub(crate) http_status: Option<u16>,
    pub(crate) failed_message_ids: Vec<String>,
}

impl InvocationState {
    /// The state of the invocation whose context is current, if the layer is installed.
    pub fn current() -> Option<Arc<InvocationState>> {
        Context::map_current(|cx| cx.get::<Arc<InvocationState>>().cloned())
    }

    fn with<R>(&self, f: impl FnOnce(&mut Facts) -> R) -> R {
        let mut facts = match self.inner.lock() {
            Ok(facts) => facts,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut facts)
    }

    /// Records how the handler ended.
    pub fn set_outcome(&self, outcome: Outcome) {
        self.with(|f| f.outcome = Some(outcome));
    }

    /// Records the HTTP response status.
    pub fn set_http_status(&self, status: u16) {
        self.with(|f| f.http_status = Some(status));
    }

    /// Records the messages an SQS batch response reported as failed.
    pub fn set_failed_message_ids(&self, ids: Vec<String>) {
        self.with(|f| f.failed_message_ids = ids);
    }

    /// Records how the handler ended, its last fact, and says so: the layer can end the
    /// invocation's spans and export while `lambda_runtime` still posts the response.
    pub(crate) fn handler_ended(&self, outcome: Outcome) {
        self.set_outcome(outcome);
        self.ended.notify_one();
    }

    /// Waits until [`Self::handler_ended`] was called (at once if it already was).
    pub(crate) async fn wait_handler_ended(&self) {
        self.ended.notified().await;
    }

    pub(crate) fn take(&self) -> Facts {
        self.with(std::mem::take)
    }
}

/// Reads what an arbitrary JSON response says: API Gateway / ALB `statusCode`, and an SQS
/// `batchItemFailures` list.
pub(crate) fn record_response_facts(state: &InvocationState, response: &serde_json::Value) {
    if let Some(status) = response
        .get("statusCode")
        .and_then(serde_json::Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
    {
        state.set_http_status(status);
    }
    if let Some(failures) = response
        .get("batchItemFailures")
        .and_then(serde_json::Value::as_array)
    {
        let ids = failures
            .iter()
            .filter_map(|f| f.get("itemIdentifier").and_then(serde_json::Value::as_str))
            .map(str::to_owned)
            .collect();
        state.set_failed_message_ids(ids);
    }
}
