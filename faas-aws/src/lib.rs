#![doc = include_str!("../README.md")]

pub mod arn;
pub mod environment;
#[cfg(feature = "http")]
pub mod http_outcome;
pub mod invocation_state;
pub mod layer;
pub mod outcome;
pub mod pricing;
#[cfg(feature = "http")]
mod router_adapter;
pub mod run;
pub mod server;
pub mod triggers;

pub use environment::{LambdaEnvironment, detect};
#[cfg(feature = "http")]
pub use http_outcome::HttpOutcomeLayer;
pub use layer::FaasLayer;
pub use outcome::OutcomeLayer;
pub use run::run;
#[cfg(feature = "http")]
pub use run::{run_http, serve};
pub use server::{Error, Server, telemetry_from_env};
