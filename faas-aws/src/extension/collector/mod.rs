//! The collector side of `faas-otel-extension`: the loopback OTLP receiver, the bounded
//! buffer, the upstream forwarder and the Lambda lifecycle that exports between invocations.
//! See `faas-aws/EXTENSION.md`.

pub mod buffer;
pub mod config;
pub mod forwarder;
#[cfg(feature = "extension-grpc")]
pub mod grpc_receiver;
pub mod lifecycle;
pub mod receiver;
pub mod state;
pub mod telemetry_listener;

pub use config::{ExtensionConfig, VARIABLES};
pub use lifecycle::run;
