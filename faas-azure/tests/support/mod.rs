//! Protocol fakes for the Azure tests: the Functions host (`host.rs`). Shared with
//! `examples/tests/azure.rs`.
#![allow(dead_code, clippy::unwrap_used)]

pub mod host;
