#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod attributes;
pub mod cold_start;
pub mod config;
pub mod cost;
pub mod env;
pub mod error;
pub mod faas_environment;
pub mod http_privacy;
pub mod http_server;
pub mod invocation;
pub mod pipeline;
pub mod propagation;
pub mod resource;
pub mod sampling;
#[cfg(feature = "tracing")]
pub mod tracing_bridge;

pub use error::{ConfigError, Error, ServeError};
