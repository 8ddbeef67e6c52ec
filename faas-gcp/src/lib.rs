#![doc = include_str!("../README.md")]

pub mod cloudevent;
pub mod environment;
pub mod google_auth;
pub mod logging;
pub mod metadata;
pub mod pricing;
pub mod serve;
pub mod triggers;

pub use cloudevent::{CloudEvent, PubSubMessage};
pub use environment::{GcpEnvironment, detect};
pub use faas_core::http_server::FlushPolicy;
pub use serve::{Error, Server, build_telemetry, serve, serve_on};
