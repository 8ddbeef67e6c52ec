#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod attributes;
pub mod cold_start;
pub mod config;
pub mod cost;
pub mod current_invocation;
pub mod env;
pub mod error;
pub mod faas_environment;
pub mod http_privacy;
pub mod http_server;
pub mod invocation;
#[cfg(feature = "logging")]
pub mod logging;
mod open_spans;
pub mod panic_hook;
pub mod pipeline;
pub mod propagation;
mod redacted_headers;
pub mod resource;
pub mod sampling;
mod strict_percent;
#[cfg(feature = "tracing")]
pub mod tracing_bridge;
pub mod watchdog;
mod watchdog_timer;

pub use error::{ConfigError, Error, ServeError};
