//! The `faas-otel-extension` Lambda extension: the platform-events source and the keep rules.

pub mod collector;
pub mod keep;
pub mod platform_events;
pub mod platform_telemetry;
