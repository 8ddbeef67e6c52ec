#![doc = include_str!("../README.md")]

mod defaults;
mod emulator;
mod environment;
mod extensions_api;
mod function_spec;
mod http_client;
mod http_server;
mod ids;
mod invocation;
mod invoke_api;
mod invoke_event;
mod journal;
mod memory;
mod process;
mod registration;
mod reply;
mod request;
mod router;
mod runtime_api;
mod runtime_protocol;
mod scripted;
mod scripted_api;
mod scripted_options;
mod scripted_runtime;
mod state;
mod subscription;
mod telemetry_api;
mod telemetry_delivery;
mod watchdog;
mod workers;
mod xray;

pub use defaults::{
    ACCOUNT_ID, DEFAULT_REGION, EXTENSIONS_SHUTDOWN_GRACE, INIT_TIMEOUT, RUNTIME_SHUTDOWN_GRACE,
};
pub use emulator::Emulator;
pub use function_spec::FunctionSpec;
pub use invocation::{
    FunctionError, InvokeOptions, InvokeResult, InvokeTimings, Report, ShutdownReport,
};
pub use invoke_api::InvokeApi;
pub use invoke_event::{DEFAULT_TRACE_HEADER, InvokeEvent};
pub use journal::{Entry, Logged, PATIENCE, Sequence};
pub use memory::{ProcessMemory, memory_kb};
pub use scripted::ScriptedLambda;
pub use scripted_options::ScriptedOptions;
