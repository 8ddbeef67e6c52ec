// The README's examples run a function, so they need the default features.
#![cfg_attr(feature = "http", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "http"),
    doc = "OpenTelemetry for AWS Lambda without the runtime integration (the `runtime` and \
           `http` features are off): Lambda resource detection ([`LambdaEnvironment`]), ARNs \
           ([`arn`]), trigger description ([`triggers`]) and the price plan ([`pricing`]). \
           See the README for the whole crate."
)]

pub mod arn;
pub mod environment;
pub mod export_auth_env;
#[cfg(feature = "http")]
pub mod http_outcome;
#[cfg(feature = "runtime")]
pub mod invocation_state;
#[cfg(feature = "runtime")]
pub mod layer;
#[cfg(feature = "runtime")]
pub mod logging;
#[cfg(feature = "runtime")]
pub mod outcome;
pub mod pricing;
#[cfg(feature = "http")]
mod router_adapter;
#[cfg(feature = "runtime")]
pub mod run;
#[cfg(feature = "runtime")]
pub mod server;
#[cfg(feature = "sigv4")]
pub mod sigv4_auth;
pub mod triggers;
#[cfg(feature = "runtime")]
mod worker_task;

pub use environment::{LambdaEnvironment, detect};
#[cfg(feature = "http")]
pub use {
    http_outcome::HttpOutcomeLayer,
    run::{run_http, serve},
};
#[cfg(feature = "runtime")]
pub use {
    layer::FaasLayer,
    outcome::OutcomeLayer,
    run::run,
    server::{Error, Server, telemetry_from_env},
};
