//! Buffer: the function's data held between its flush and the upstream export, as the
//! protobuf bytes received (decoded lazily, only what the extension needs), within a memory
//! cap that counts what is held, every drop counted.

mod counts;
mod dropped;
mod held;
mod rewrite;
mod sample;
mod scan;
mod schema;
mod signal;
mod store;
mod wire;

pub(crate) use counts::span_count;
pub(crate) use dropped::Dropped;
pub use held::HELD_REQUEST_OVERHEAD;
pub(crate) use held::{Held, exact};
pub(crate) use rewrite::split_request;
pub(crate) use sample::sample_traces;
pub(crate) use scan::{SpanView, for_each_span, item_count};
pub(crate) use signal::Signal;
pub(crate) use store::Buffer;
