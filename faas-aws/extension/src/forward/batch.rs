//! [`Batch`]: what the forwarder needs of one upstream request's content: its signal and path,
//! how many items it holds, its encoded body, a split in two halves for a `413`, and the held
//! requests back when it is kept for a later export. [`HeldBatch`] is the one kind today.

use crate::buffer::Held;
use crate::config::ExtensionConfig;
use crate::drops::Signal;

use super::batches::HeldBatch;
use super::encode::{Encoded, encode};

/// One upstream request's content.
pub(crate) trait Batch: Sized + Send {
    /// What its items are counted as.
    fn signal(&self) -> Signal;
    /// The upstream path (`/v1/traces`, ...).
    fn path(&self) -> &'static str;
    /// How many items (spans, data points, log records) it holds.
    fn items(&self) -> u64;
    /// The request body, as configured (protocol, compression).
    fn encode(&self, config: &ExtensionConfig) -> Encoded;
    /// Two halves holding every item once, in order (`Err(self)` when it cannot be split).
    fn split_in_two(self) -> Result<(Self, Self), Self>;
    /// The held requests, to keep them for a later export.
    fn into_held(self) -> Vec<Held>;
}

impl Batch for HeldBatch {
    fn signal(&self) -> Signal {
        HeldBatch::signal(self).counted()
    }

    fn path(&self) -> &'static str {
        HeldBatch::signal(self).path()
    }

    fn items(&self) -> u64 {
        HeldBatch::items(self)
    }

    fn encode(&self, config: &ExtensionConfig) -> Encoded {
        encode(config, self)
    }

    fn split_in_two(self) -> Result<(Self, Self), Self> {
        HeldBatch::split_in_two(self)
    }

    fn into_held(self) -> Vec<Held> {
        self.into_parts()
    }
}
