//! [`PlatformTelemetry`]: platform events to OTLP spans and metrics.

use std::sync::Arc;
use std::time::SystemTime;

use faas_aws::LambdaEnvironment;
use faas_core::ConfigError;
use faas_core::config::TelemetryConfig;
use faas_core::cost::{Architecture, CostModel};
use faas_core::env::Env;
use faas_core::faas_environment::{FaasEnvironment, LocalEnvironment};
use faas_core::resource::build_resource;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use opentelemetry_semantic_conventions::attribute as attr;

use crate::bounded_map::BoundedMap;
use crate::otlp;

use super::event::PlatformEvent;
use super::invocation_context::InvocationContext;
use super::invoke_records::Report;
use super::metrics::{InvocationSample, MetricsWindow};
use super::outcome::InvocationOutcome;
use super::record::Record;
use super::spans::{self, INIT_SPAN_NAME, PhaseReport, RESTORE_SPAN_NAME, UnplacedSpan};
use super::values::{InitPhase, InitializationType};

/// Instrumentation scope of everything [`PlatformTelemetry`] produces.
pub const SCOPE_NAME: &str = "faas-otel-extension";

/// How many request ids are remembered (their trace, start time and outcome).
pub(crate) const REMEMBERED_INVOCATIONS: usize = 1024;

/// How many platform events may go by after the invocation an initialization should join was
/// identified, before the initialization span is released without the function's trace.
pub const INIT_JOIN_EVENT_LIMIT: u32 = 64;

/// The `faas_otel.init.phase` of a `platform restore` span.
pub(crate) const RESTORE_PHASE: &str = "restore";

/// Initialization or restore spans waiting for the trace of the invocation they join.
#[derive(Debug, Default)]
struct Held {
    spans: Vec<UnplacedSpan>,
    target: Option<String>,
    events_since_target: u32,
}

/// Turns the Lambda Telemetry API's platform events into spans and metrics.
///
/// The function traces itself (its invocation span, its cold start as `faas init`); what only
/// the platform knows arrives at the extension as [platform events](super::PlatformEvent).
/// [`PlatformTelemetry`] turns them into OTLP, with the same resource as the function:
///
/// | span | from | where in the trace |
/// |---|---|---|
/// | [`platform init`](crate::INIT_SPAN_NAME) | `platform.initStart` → `platform.initReport` | sibling of the first invocation's span |
/// | `platform restore` | `platform.restoreStart` → `platform.restoreReport` | sibling of the first invocation's span |
/// | [`platform invoke`](crate::INVOKE_SPAN_NAME) | `platform.start` → `platform.report` | sibling of the invocation's span |
///
/// All are INTERNAL. "Sibling" means same trace id and the same parent as the function's
/// invocation span (root-level when that span is a root). The function's spans are learned with
/// [`observe_traces`](PlatformTelemetry::observe_traces), from the spans that carry
/// `faas.invocation_id`; the last 1024 request ids are remembered.
///
/// **Ordering.** A `platform invoke` span is made when its `platform.report` is processed. The
/// function sends its spans before it asks for the next invocation, and Lambda reports the
/// invocation only after that, so calling `observe_traces` as OTLP requests are received (before
/// answering them) sees the invocation's trace in time. A report whose request id was never seen
/// in the function's spans (the function exported nothing, or its spans were lost) becomes a
/// root span in a new trace with random ids, with the same attributes.
///
/// **Initialization** (and SnapStart restore) is held back until its trace is known: the first
/// invocation after it (the first request id in `platform.start`, `runtimeDone` or `report`; for
/// an initialization Lambda re-ran in the `invoke` phase, the invocation in progress) is the one
/// it joins. It is released without a function trace rather than lost: when that invocation's
/// report arrives and its trace is still unknown (then it joins the new trace of that
/// `platform invoke` span, root-level), when [`INIT_JOIN_EVENT_LIMIT`] more events went by, or
/// when [`finish`](PlatformTelemetry::finish) is called at shutdown (then in a new trace of its
/// own).
///
/// **Metrics** ([`take_metrics`](PlatformTelemetry::take_metrics)), delta temporality, no
/// attributes (`faas.trigger` is not known to the platform): `faas.invoke_duration` (s),
/// `faas.init_duration` (s, initializations and restores), `faas.mem_usage` (By, the
/// invocation's `maxMemoryUsedMB`), `faas.errors`, `faas.timeouts`, `faas.coldstarts` (reports
/// carrying `initDurationMs` or `restoreDurationMs`). The function's own pipeline records
/// `faas.*` metrics too, with `faas.trigger` and under its own instrumentation scope; these are
/// under the scope [`SCOPE_NAME`].
#[derive(Debug)]
pub struct PlatformTelemetry {
    resource: ProtoResource,
    cost_model: Option<Arc<dyn CostModel>>,
    architecture: Architecture,
    ids: Box<dyn IdGenerator>,
    invocations: BoundedMap<String, InvocationContext>,
    starts: BoundedMap<String, SystemTime>,
    outcomes: BoundedMap<String, InvocationOutcome>,
    init_start: Option<SystemTime>,
    restore_start: Option<SystemTime>,
    open_request: Option<String>,
    held: Held,
    spans: Vec<Span>,
    metrics: MetricsWindow,
}

impl PlatformTelemetry {
    /// Built as the function builds its telemetry: the resource from Lambda's variables
    /// (Lambda's, or a local environment off Lambda) with `OTEL_SERVICE_NAME` and
    /// `OTEL_RESOURCE_ATTRIBUTES` ([`build_resource`]), the cost model from the Lambda price
    /// plan with the `FAAS_OTEL_PRICE_*` overrides, the architecture of this binary (the
    /// function's). A bad `OTEL_*` or `FAAS_OTEL_PRICE_*` value is an error naming it.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let config = TelemetryConfig::from_env(env)?;
        let environment: Box<dyn FaasEnvironment> = match LambdaEnvironment::from_env(env) {
            Some(lambda) => Box::new(lambda),
            None => Box::new(LocalEnvironment::from_env(env)),
        };
        let resource = build_resource(environment.as_ref(), &config, Vec::new());
        let cost_model = match environment.price_plan() {
            Some(plan) => Some(Arc::new(plan.with_overrides(env)?) as Arc<dyn CostModel>),
            None => None,
        };
        Ok(Self::new(&resource, cost_model, environment.architecture()))
    }

    /// Built from explicit parts: the resource of every request, the cost model of
    /// `platform invoke` spans (`None`: no cost attributes besides the billed duration) and
    /// the architecture it prices.
    fn new(
        resource: &opentelemetry_sdk::Resource,
        cost_model: Option<Arc<dyn CostModel>>,
        architecture: Architecture,
    ) -> Self {
        Self {
            resource: otlp::resource(resource),
            cost_model,
            architecture,
            ids: Box::new(RandomIdGenerator::default()),
            invocations: BoundedMap::new(REMEMBERED_INVOCATIONS),
            starts: BoundedMap::new(REMEMBERED_INVOCATIONS),
            outcomes: BoundedMap::new(REMEMBERED_INVOCATIONS),
            init_start: None,
            restore_start: None,
            open_request: None,
            held: Held::default(),
            spans: Vec::new(),
            metrics: MetricsWindow::default(),
        }
    }

    /// Uses `ids` for the span ids of platform spans and the trace ids of spans without a
    /// function trace (default: random).
    pub fn with_id_generator(mut self, ids: Box<dyn IdGenerator>) -> Self {
        self.ids = ids;
        self
    }

    /// Learns, from the function's spans carrying `faas.invocation_id`, each invocation's
    /// trace, span, parent and `faas.coldstart`, and places held initialization spans whose
    /// invocation it reveals. Spans with malformed ids are ignored. When several spans carry
    /// the same request id, the first one seen is kept unless a later one is its parent.
    pub fn observe_traces(&mut self, request: &ExportTraceServiceRequest) {
        for span in otlp::spans(request) {
            let Some(request_id) = otlp::find_str(&span.attributes, attr::FAAS_INVOCATION_ID)
            else {
                continue;
            };
            let (Ok(trace_id), Ok(span_id)) = (
                <[u8; 16]>::try_from(span.trace_id.as_slice()),
                <[u8; 8]>::try_from(span.span_id.as_slice()),
            ) else {
                continue;
            };
            let context = InvocationContext {
                trace_id,
                span_id,
                parent_span_id: <[u8; 8]>::try_from(span.parent_span_id.as_slice()).ok(),
                coldstart: otlp::find_bool(&span.attributes, attr::FAAS_COLDSTART),
            };
            let replace = match self.invocations.get(request_id) {
                None => true,
                Some(known) => known.trace_id == trace_id && known.parent_span_id == Some(span_id),
            };
            if replace {
                self.invocations.insert(request_id.to_owned(), context);
            }
        }
        self.place_held();
    }

    /// The resource of everything it produces (the function's): function log records carry it
    /// too.
    pub(crate) fn resource(&self) -> &ProtoResource {
        &self.resource
    }

    /// What the function's spans told about `request_id`, if they were seen.
    pub fn invocation(&self, request_id: &str) -> Option<&InvocationContext> {
        self.invocations.get(request_id)
    }

    /// Processes a batch of platform events, in order. Events that make no telemetry
    /// (`platform.extension`, unknown ones, ...) are ignored.
    pub fn on_events(&mut self, events: &[PlatformEvent]) {
        for event in events {
            self.on_event(event);
            self.place_held();
            if !self.held.spans.is_empty() && self.held.target.is_some() {
                self.held.events_since_target += 1;
                if self.held.events_since_target > INIT_JOIN_EVENT_LIMIT {
                    self.release_held(None);
                }
            }
        }
    }

    fn on_event(&mut self, event: &PlatformEvent) {
        let PlatformEvent::Known { time, record } = event else {
            return;
        };
        let time = *time;
        match record {
            Record::InitStart(_) => self.init_start = Some(time),
            Record::InitReport(record) => {
                let duration = otlp::millis(record.metrics.duration_ms);
                let start = self
                    .init_start
                    .take()
                    .unwrap_or_else(|| otlp::minus(time, duration));
                self.metrics.record_init(time, duration.as_secs_f64());
                let span = spans::phase_span(&PhaseReport {
                    name: INIT_SPAN_NAME,
                    start,
                    duration,
                    initialization_type: record.initialization_type.as_str(),
                    phase: record.phase.as_str(),
                    status: &record.status,
                    error_type: record.error_type.as_deref(),
                });
                self.hold(span, record.phase == InitPhase::Invoke);
            }
            Record::RestoreStart(_) => self.restore_start = Some(time),
            Record::RestoreReport(record) => {
                let restore_start = self.restore_start.take();
                let duration = match (&record.metrics, restore_start) {
                    (Some(metrics), _) => otlp::millis(metrics.duration_ms),
                    (None, Some(start)) => time.duration_since(start).unwrap_or_default(),
                    (None, None) => return,
                };
                let start = restore_start.unwrap_or_else(|| otlp::minus(time, duration));
                self.metrics.record_init(time, duration.as_secs_f64());
                let span = spans::phase_span(&PhaseReport {
                    name: RESTORE_SPAN_NAME,
                    start,
                    duration,
                    initialization_type: InitializationType::SnapStart.as_str(),
                    phase: RESTORE_PHASE,
                    status: &record.status,
                    error_type: record.error_type.as_deref(),
                });
                self.hold(span, false);
            }
            Record::Start(record) => {
                self.starts.insert(record.request_id.clone(), time);
                self.open_request = Some(record.request_id.clone());
                self.note_request(&record.request_id);
            }
            Record::RuntimeDone(record) => {
                self.outcomes
                    .insert(record.request_id.clone(), (&record.status).into());
                self.note_request(&record.request_id);
            }
            Record::Report(record) => {
                self.outcomes
                    .insert(record.request_id.clone(), (&record.status).into());
                self.note_request(&record.request_id);
                self.report(time, record);
                if self.open_request.as_deref() == Some(record.request_id.as_str()) {
                    self.open_request = None;
                }
            }
            _ => {}
        }
    }

    /// Holds an initialization or restore span until the trace it joins is known.
    fn hold(&mut self, span: UnplacedSpan, joins_invocation_in_progress: bool) {
        self.held.spans.push(span);
        if self.held.target.is_none() && joins_invocation_in_progress {
            self.held.target = self.open_request.clone();
            self.held.events_since_target = 0;
        }
    }

    /// The first request id seen after a held span becomes the invocation it joins.
    fn note_request(&mut self, request_id: &str) {
        if !self.held.spans.is_empty() && self.held.target.is_none() {
            self.held.target = Some(request_id.to_owned());
            self.held.events_since_target = 0;
        }
    }

    /// Places the held spans when the trace of the invocation they join is known.
    fn place_held(&mut self) {
        let Some(target) = &self.held.target else {
            return;
        };
        if let Some(context) = self.invocations.get(target).copied() {
            self.release_held(Some((context.trace_id, context.parent_span_id)));
        }
    }

    /// Emits the held spans in `trace` under `parent`, or in a new trace when `None`.
    fn release_held(&mut self, place: Option<([u8; 16], Option<[u8; 8]>)>) {
        let held = std::mem::take(&mut self.held);
        if held.spans.is_empty() {
            return;
        }
        let (trace_id, parent) = place.unwrap_or_else(|| (self.new_trace_id(), None));
        for span in held.spans {
            let span_id = self.new_span_id();
            self.spans.push(span.place(trace_id, span_id, parent));
        }
    }

    fn report(&mut self, time: SystemTime, record: &Report) {
        let duration = otlp::millis(record.metrics.duration_ms);
        let start = self
            .starts
            .get(&record.request_id)
            .copied()
            .unwrap_or_else(|| otlp::minus(time, duration));
        let (trace_id, parent) = match self.invocations.get(&record.request_id) {
            Some(context) => (context.trace_id, context.parent_span_id),
            None => {
                let trace_id = self.new_trace_id();
                if self.held.target.as_deref() == Some(record.request_id.as_str()) {
                    self.release_held(Some((trace_id, None)));
                }
                (trace_id, None)
            }
        };
        let span = spans::invoke_span(record, start, self.cost_model.as_deref(), self.architecture);
        let span_id = self.new_span_id();
        self.spans.push(span.place(trace_id, span_id, parent));

        let metrics = &record.metrics;
        let outcome = InvocationOutcome::from(&record.status);
        self.metrics.record_invocation(
            time,
            InvocationSample {
                duration_s: duration.as_secs_f64(),
                max_memory_used_bytes: metrics
                    .max_memory_used_mb
                    .map(|mb| mb.saturating_mul(1024 * 1024)),
                error: outcome == InvocationOutcome::Error,
                timeout: outcome == InvocationOutcome::Timeout,
                coldstart: metrics.init_duration_ms.is_some()
                    || metrics.restore_duration_ms.is_some(),
            },
        );
    }

    /// Releases held initialization spans in a trace of their own (call at shutdown, before
    /// the last [`take_spans`](Self::take_spans)).
    pub fn finish(&mut self) {
        self.release_held(None);
    }

    /// How the invocation `request_id` ended, from its `platform.runtimeDone` or (later, and
    /// then preferred) `platform.report`; `None` when neither was seen (yet).
    pub fn outcome(&self, request_id: &str) -> Option<InvocationOutcome> {
        self.outcomes.get(request_id).copied()
    }

    /// The spans made since the last call, as one request; `None` when there are none.
    pub fn take_spans(&mut self) -> Option<ExportTraceServiceRequest> {
        if self.spans.is_empty() {
            return None;
        }
        Some(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope()),
                    spans: std::mem::take(&mut self.spans),
                    schema_url: opentelemetry_semantic_conventions::SCHEMA_URL.to_owned(),
                }],
                schema_url: String::new(),
            }],
        })
    }

    /// The metrics of the events since the last call, as one request; `None` when no
    /// invocation or initialization was reported.
    pub fn take_metrics(&mut self) -> Option<ExportMetricsServiceRequest> {
        let metrics = self.metrics.take()?;
        Some(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(scope()),
                    metrics,
                    schema_url: opentelemetry_semantic_conventions::SCHEMA_URL.to_owned(),
                }],
                schema_url: String::new(),
            }],
        })
    }

    fn new_trace_id(&self) -> [u8; 16] {
        self.ids.new_trace_id().to_bytes()
    }

    fn new_span_id(&self) -> [u8; 8] {
        self.ids.new_span_id().to_bytes()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
    }
}
