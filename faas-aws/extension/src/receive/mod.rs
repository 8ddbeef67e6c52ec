//! Receive: the function's OTLP over HTTP (and, with the feature `grpc`, over gRPC) on loopback,
//! and the platform's Telemetry API batches.

mod accept;
mod body;
mod decode;
#[cfg(feature = "grpc")]
mod grpc;
mod in_flight;
mod otlp_http;
#[cfg(test)]
mod proptests;
mod rejection;
mod telemetry_listener;

pub(crate) use accept::invocation_spans;
#[cfg(feature = "grpc")]
pub(crate) use grpc::serve as serve_grpc;
pub(crate) use otlp_http::router as otlp_router;
pub(crate) use telemetry_listener::router as telemetry_router;
