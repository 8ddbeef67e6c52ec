#![doc = include_str!("../README.md")]

pub mod arn;
pub mod environment;
pub mod invocation_state;
pub mod layer;
pub mod outcome;
pub mod pricing;
pub mod run;
#[cfg(feature = "http")]
pub mod serve;
pub mod triggers;

#[cfg(feature = "http")]
pub mod http_outcome;

pub use environment::{LambdaEnvironment, detect};
#[cfg(feature = "http")]
pub use http_outcome::HttpOutcomeLayer;
pub use layer::FaasLayer;
pub use outcome::OutcomeLayer;
#[cfg(feature = "http")]
pub use run::run_http;
pub use run::{Error, run, telemetry_from_env};
#[cfg(feature = "http")]
pub use serve::serve;
