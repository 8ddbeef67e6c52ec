//! Buffer: the function's data held between its flush and the upstream export, within a memory
//! cap, every drop counted.

mod counts;
mod dropped;
mod store;

pub(crate) use counts::{point_count, record_count, span_count};
pub(crate) use dropped::Dropped;
pub(crate) use store::Buffer;
