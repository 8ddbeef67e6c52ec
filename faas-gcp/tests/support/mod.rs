//! Protocol fakes for the GCP tests: the metadata server and an OTLP/HTTP collector that keeps
//! whole export requests (resource included). Shared with `examples/tests/gcp.rs`; the
//! including crate must also declare `mod collector` (faas-core's test collector) at its root.
#![allow(dead_code, clippy::unwrap_used)]

pub mod metadata;
pub mod otlp;
