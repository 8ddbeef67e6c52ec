//! What the examples' test binaries share: an example binary started the way each platform
//! starts a function (only that platform's variables, exporting to the test's receiver), its
//! JSON log lines, a variant of a binary built apart. Each test binary uses only some of it.
#![allow(dead_code)]

mod api_gateway;
mod azure_host;
mod cargo_build;
mod cloud_run;
mod json_line;
mod lambda_runtime;

// Each test binary uses only some of these.
#[allow(unused_imports)]
pub use self::{
    api_gateway::http_api_get,
    azure_host::{app_root, start_under_host},
    cargo_build::{cargo_built, private_copy},
    cloud_run::start_on_cloud_run,
    json_line::json_line,
    lambda_runtime::{launch_runtime, scripted_lambda, start_runtime},
};
