//! A real OTLP/HTTP receiver for the tests, and helpers to read what it received.

mod attributes;
mod build;
mod decode;
mod receiver;
mod request;

pub use attributes::{assert_attrs, attr, attribute_map, bool_attr, hex, int_attr, kv, str_attr};
pub use build::trace_request;
pub use receiver::{OtlpReceiver, OtlpReceiverBuilder, ReceivedSpan};
pub use request::{Format, OtlpRequest, Payload};

/// The `opentelemetry-proto` crate the receiver decodes with, for naming its types in tests.
pub use opentelemetry_proto as proto;
