#![doc = include_str!("../README.md")]

pub mod environment;
pub mod functions;
pub mod invoke_call;
pub mod logging;
pub mod pricing;
pub mod protocol;
pub mod serve;
pub mod triggers;

pub use environment::{AzureFunctionsEnvironment, detect};
pub use faas_core::http_server::FlushPolicy;
pub use functions::{Binding, Function, Functions};
pub use protocol::{
    HttpBindingResponse, HttpTriggerRequest, InvokeRequest, InvokeResponse, SysMetadata,
};
pub use serve::{Error, Server, build_telemetry, serve, serve_on};
