//! The `tracing` bridge (cargo feature `tracing`): spans a handler creates with the `tracing`
//! crate become children of the invocation span.
//!
//! Add [`layer`] to your subscriber once; run the handler with the invocation's context
//! current (`InvocationSpan::scope`, which provider crates do for you). A `tracing` span with
//! no `tracing` parent then takes the current OpenTelemetry context (the invocation span) as
//! its parent, and is exported with the invocation's other spans by the same bounded flush.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! # fn example(telemetry: &faas_core::pipeline::Telemetry) {
//! let subscriber = tracing_subscriber::registry().with(faas_core::tracing_bridge::layer(telemetry));
//! tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
//! # }
//! ```

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracer;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// Scope name of spans that come from `tracing`.
pub const TRACING_SCOPE_NAME: &str = "faas-otel-tracing";

/// A `tracing-opentelemetry` layer that records into this telemetry's pipeline.
pub fn layer<S>(telemetry: &crate::pipeline::Telemetry) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(telemetry.tracer_provider().tracer(TRACING_SCOPE_NAME))
        .with_tracked_inactivity(false)
}
