//! The FaaS metrics (`faas.invocations`, `faas.errors`, `faas.timeouts`, `faas.coldstarts`,
//! `faas.invoke_duration`, `faas.init_duration`), the pipeline's own
//! [`SPANS_DROPPED_METRIC`], and the reader that collects them only when a flush asks, since
//! a periodic reader's thread would be frozen between invocations.

use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

use crate::attributes::semconv::metric as m;

/// The counter of spans the function-side pipeline lost (unit `{span}`), with `error.type`
/// saying why: [`DROP_QUEUE_FULL`], [`DROP_REJECTED`] or [`DROP_NO_EXPORTER`]. Each lost span
/// is counted once for the whole process, whichever invocation's flush noticed it.
pub const SPANS_DROPPED_METRIC: &str = "faas_otel.spans.dropped";
/// `error.type` of [`SPANS_DROPPED_METRIC`]: the queue (`OTEL_BSP_MAX_QUEUE_SIZE`) was full and
/// the oldest spans made room.
pub const DROP_QUEUE_FULL: &str = "queue_full";
/// `error.type` of [`SPANS_DROPPED_METRIC`]: the collector rejected the batch with an answer
/// OTLP says must not be retried (400, 500, ...).
pub const DROP_REJECTED: &str = "rejected";
/// `error.type` of [`SPANS_DROPPED_METRIC`]: no exporter could be built for the final drain.
pub const DROP_NO_EXPORTER: &str = "no_exporter";

/// The FaaS metric instruments.
#[derive(Debug, Clone)]
pub struct FaasMetrics {
    /// `faas.invocations`.
    pub invocations: Counter<u64>,
    /// `faas.errors`.
    pub errors: Counter<u64>,
    /// `faas.timeouts`.
    pub timeouts: Counter<u64>,
    /// `faas.coldstarts`.
    pub coldstarts: Counter<u64>,
    /// `faas.invoke_duration`, seconds.
    pub invoke_duration: Histogram<f64>,
    /// `faas.init_duration`, seconds.
    pub init_duration: Histogram<f64>,
    /// [`SPANS_DROPPED_METRIC`]: spans the pipeline lost, by `error.type`.
    pub spans_dropped: Counter<u64>,
}

impl FaasMetrics {
    /// Creates the instruments on `meter`.
    pub fn new(meter: &Meter) -> Self {
        let counter = |name: &'static str, description: &'static str| {
            meter
                .u64_counter(name)
                .with_unit("{invocation}")
                .with_description(description)
                .build()
        };
        let seconds = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .build()
        };
        Self {
            invocations: counter(m::FAAS_INVOCATIONS, "Number of successful invocations"),
            errors: counter(m::FAAS_ERRORS, "Number of invocation errors"),
            timeouts: counter(m::FAAS_TIMEOUTS, "Number of invocation timeouts"),
            coldstarts: counter(m::FAAS_COLDSTARTS, "Number of invocation cold starts"),
            invoke_duration: seconds(m::FAAS_INVOKE_DURATION, "Duration of invocations"),
            init_duration: seconds(m::FAAS_INIT_DURATION, "Duration of initialization"),
            spans_dropped: meter
                .u64_counter(SPANS_DROPPED_METRIC)
                .with_unit("{span}")
                .with_description("Spans the function's telemetry pipeline lost")
                .build(),
        }
    }
}

/// A [`ManualReader`] shared between the meter provider and the flush.
#[derive(Debug, Clone)]
pub(crate) struct SharedReader(pub(crate) Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}
