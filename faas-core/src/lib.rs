//! Provider-neutral OpenTelemetry tracing for serverless functions.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod attributes;
// LEAD-WIP pub mod cold_start;
// LEAD-WIP pub mod config;
pub mod cost;
pub mod env;
// LEAD-WIP pub mod environment;
pub mod error;
// LEAD-WIP pub mod invocation;
// LEAD-WIP pub mod pipeline;
pub mod propagation;
// LEAD-WIP pub mod resource;
pub mod sampling;
#[cfg(feature = "tracing")]
pub mod tracing_bridge;

pub use error::{ConfigError, Error};
