//! [`Held`]: one received OTLP request, kept as its protobuf encoding (never decoded into
//! structs), with its item count.
//!
//! OTLP export requests concatenate: the encodings of two requests of a signal, one after the
//! other, are the encoding of one request holding both (their only field, `resource_*` = 1, is
//! repeated), so held requests are forwarded by concatenating their bytes.

use bytes::Bytes;
use prost::Message;

use super::scan::item_count;
use super::schema::validate;
use super::signal::Signal;
use super::wire::WireError;

/// What holding one received request costs against `FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES`
/// beyond its protobuf bytes: the [`Held`] in the buffer's vector (up
/// to twice its size while the vector has spare capacity) and the allocator's bookkeeping of
/// the body's allocation, rounded up.
pub const HELD_REQUEST_OVERHEAD: usize = 2 * std::mem::size_of::<Held>() + 32;

/// A held request: its protobuf bytes and how many items (spans, data points, log records)
/// they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    body: Bytes,
    items: u64,
}

impl Held {
    /// Checks that `body` is a well-formed request of `signal` (it then decodes with prost)
    /// and keeps it. The caller hands over an allocation of exactly `body.len()` bytes
    /// ([`exact`]), so that what is counted is what is held.
    pub(crate) fn from_protobuf(signal: Signal, body: Bytes) -> Result<Self, WireError> {
        validate(signal.schema(), &body)?;
        let items = item_count(signal, &body)?;
        Ok(Self { body, items })
    }

    /// `request` encoded once (for data decoded elsewhere: OTLP/JSON, gRPC, the platform's
    /// spans and metrics, log records).
    pub(crate) fn from_message<T: Message>(signal: Signal, request: &T) -> Self {
        let body = Bytes::from(request.encode_to_vec());
        // Our own encoding of a well-formed message: it counts.
        let items = item_count(signal, &body).unwrap_or(0);
        Self { body, items }
    }

    /// Bytes already checked and counted (parts of held requests).
    pub(crate) fn from_parts(body: Bytes, items: u64) -> Self {
        Self { body, items }
    }

    /// The protobuf bytes.
    pub(crate) fn body(&self) -> &Bytes {
        &self.body
    }

    /// Spans, data points or log records.
    pub(crate) fn items(&self) -> u64 {
        self.items
    }

    /// What holding it costs: its bytes and [`HELD_REQUEST_OVERHEAD`].
    pub(crate) fn held_bytes(&self) -> usize {
        self.body.len().saturating_add(HELD_REQUEST_OVERHEAD)
    }
}

/// `bytes` in an allocation of exactly their length (a vector with spare capacity is
/// shrunk, which copies only when the allocator cannot shrink in place).
pub(crate) fn exact(bytes: Vec<u8>) -> Bytes {
    Bytes::from(bytes.into_boxed_slice())
}
