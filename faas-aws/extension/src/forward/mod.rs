//! Forward: the buffer's content to the upstream OTLP/HTTP endpoint, in bounded batches (split
//! on `413`), retried with backoff and `Retry-After` within the export's deadline, redirects
//! never followed, `partial_success` counted.

mod backoff;
mod batch;
mod batches;
mod client;
mod dropped_metric;
mod encode;
mod forwarder;
mod partial_success;
mod retry_after;
mod send;
pub(crate) mod sigv4;

pub(crate) use batches::batches;
pub(crate) use forwarder::Forwarder;
