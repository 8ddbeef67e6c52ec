//! The Lambda lifecycle: register, subscribe, wait after each INVOKE for the function's data,
//! export between invocations (or periodically at high rates), drain at SHUTDOWN.

mod deadline;
mod error;
mod export_pace;
mod invoke;
mod lambda_api;
mod periodic;
mod prepare;
mod run;
mod shutdown;

pub use error::Error;
pub use run::run;
