//! AWS Lambda support for faas-otel.

pub mod environment;
pub mod pricing;

pub use environment::detect;
