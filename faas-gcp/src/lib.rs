//! Google Cloud Run functions and Cloud Run support for faas-otel.

pub mod environment;
pub mod pricing;

pub use environment::detect;
