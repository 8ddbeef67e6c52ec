//! Forward: the buffer's content to the upstream OTLP/HTTP endpoint, in bounded batches,
//! retried with backoff and `Retry-After` within the export's deadline.

mod backoff;
mod batches;
mod client;
mod dropped_metric;
mod encode;
mod forwarder;
mod retry_after;
mod send;

pub(crate) use forwarder::Forwarder;
