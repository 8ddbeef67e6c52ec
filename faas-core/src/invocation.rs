//! The invocation span: a provider-neutral description of one invocation ([`Invocation`])
//! turned into a span whose name, kind and attributes follow the FaaS conventions
//! ([`InvocationSpan`]), and ended with its outcome ([`Outcome`]).
//!
//! Provider crates describe what they parsed from the platform's event (trigger, id, parent or
//! links, attributes); this module does the rest: `faas.trigger`, `faas.invocation_id`,
//! `faas.coldstart` (exactly once per process), the initialization span, cost attributes,
//! status, `error.type`, the exception event and the FaaS metrics.

use std::borrow::Cow;
use std::time::Instant;

use opentelemetry::trace::{Link, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::attributes::semconv::attribute as attr;
use crate::attributes::{self, WARMUP};
use crate::cost::BillingInput;
use crate::pipeline::Telemetry;

/// What started the invocation (`faas.trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trigger {
    /// A response to a data-source operation (database, object store).
    Datasource,
    /// An HTTP request.
    Http,
    /// A message from a queue or topic.
    PubSub,
    /// A schedule.
    Timer,
    /// Anything else, including direct invocation.
    Other,
}

impl Trigger {
    /// The `faas.trigger` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Datasource => "datasource",
            Self::Http => "http",
            Self::PubSub => "pubsub",
            Self::Timer => "timer",
            Self::Other => "other",
        }
    }

    /// The span kind the conventions give an incoming invocation with this trigger:
    /// CONSUMER for messages, SERVER otherwise.
    pub fn span_kind(self) -> SpanKind {
        match self {
            Self::PubSub => SpanKind::Consumer,
            _ => SpanKind::Server,
        }
    }
}

/// A provider-neutral description of one incoming invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The span name (on Lambda: the function name; messaging: `{destination} process`).
    pub name: Cow<'static, str>,
    /// `faas.trigger`.
    pub trigger: Trigger,
    /// Span kind; defaults to [`Trigger::span_kind`].
    pub kind: Option<SpanKind>,
    /// `faas.invocation_id`.
    pub invocation_id: Option<String>,
    /// The parent context (remote parent extracted from the event), if any.
    pub parent: Option<Context>,
    /// Links (one per message of a batch, say).
    pub links: Vec<Link>,
    /// Further attributes known when the invocation starts (visible to the sampler).
    pub attributes: Vec<KeyValue>,
    /// A warm-up ping, not user traffic: traced (with `faas_otel.warmup=true`) and not counted in
    /// the FaaS invocation metrics. A ping that reaches a new process absorbs its cold start,
    /// as warmers are meant to: the initialization span joins the ping's trace, and the user
    /// traffic after it is warm.
    pub warmup: bool,
}

impl Invocation {
    /// An invocation named `name`, started by `trigger`.
    pub fn new(name: impl Into<Cow<'static, str>>, trigger: Trigger) -> Self {
        Self {
            name: name.into(),
            trigger,
            kind: None,
            invocation_id: None,
            parent: None,
            links: Vec::new(),
            attributes: Vec::new(),
            warmup: false,
        }
    }

    /// Sets `faas.invocation_id`.
    pub fn with_invocation_id(mut self, id: impl Into<String>) -> Self {
        self.invocation_id = Some(id.into());
        self
    }

    /// Sets the parent context.
    pub fn with_parent(mut self, parent: Context) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Adds links.
    pub fn with_links(mut self, links: impl IntoIterator<Item = Link>) -> Self {
        self.links.extend(links);
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, attribute: KeyValue) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds attributes.
    pub fn with_attributes(mut self, attributes: impl IntoIterator<Item = KeyValue>) -> Self {
        self.attributes.extend(attributes);
        self
    }

    /// Overrides the span kind.
    pub fn with_kind(mut self, kind: SpanKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Marks a warm-up ping.
    pub fn warmup(mut self) -> Self {
        self.warmup = true;
        self
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler succeeded.
    Ok,
    /// The handler failed: `error_type` becomes `error.type` and `exception.type`.
    Error {
        /// A low-cardinality class of the error (a type name, an HTTP status code).
        error_type: String,
        /// A human-readable message, recorded on the exception event.
        message: String,
    },
    /// The invocation ran out of time.
    Timeout,
}

impl Outcome {
    /// The outcome of an HTTP response: a 5xx status is an error whose `error.type` is the
    /// status code, as the HTTP server conventions require; anything else is [`Outcome::Ok`].
    pub fn from_http_status(status: u16) -> Self {
        if (500..600).contains(&status) {
            Self::Error {
                error_type: status.to_string(),
                message: format!("HTTP status {status}"),
            }
        } else {
            Self::Ok
        }
    }

    /// An error outcome from any error value, typed by its Rust type name.
    pub fn from_error<E: std::fmt::Display + ?Sized>(error: &E) -> Self {
        let type_name = std::any::type_name::<E>();
        Self::Error {
            error_type: type_name.to_owned(),
            message: error.to_string(),
        }
    }
}

/// One invocation in flight. End it with [`InvocationSpan::end`]; dropping it ends the span
/// without an outcome and without metrics.
#[derive(Debug)]
pub struct InvocationSpan {
    cx: Context,
    started: Instant,
    trigger: Trigger,
    cold_start: bool,
    warmup: bool,
    telemetry: Telemetry,
}

impl Telemetry {
    /// Starts the span of one invocation, taking the process's cold start if it is still
    /// there, and records the initialization span under it.
    pub fn start_invocation(&self, invocation: Invocation) -> InvocationSpan {
        let started = Instant::now();
        let cold = self.cold_start().take();
        let cold_start = cold.as_ref().is_some_and(|c| c.user_visible);

        let mut attributes = Vec::with_capacity(invocation.attributes.len() + 5);
        attributes.push(KeyValue::new(
            attr::FAAS_TRIGGER,
            invocation.trigger.as_str(),
        ));
        attributes.push(KeyValue::new(attr::FAAS_COLDSTART, cold_start));
        if let Some(id) = invocation.invocation_id {
            attributes.push(KeyValue::new(attr::FAAS_INVOCATION_ID, id));
        }
        if let Some(info) = &cold {
            attributes.push(KeyValue::new(
                attributes::INIT_TYPE,
                info.initialization_type.as_str().to_owned(),
            ));
        }
        if invocation.warmup {
            attributes.push(KeyValue::new(WARMUP, true));
        }
        attributes.extend(invocation.attributes);

        let parent = invocation.parent.unwrap_or_default();
        let tracer = self.tracer();
        let span = tracer
            .span_builder(invocation.name)
            .with_kind(invocation.kind.unwrap_or(invocation.trigger.span_kind()))
            .with_attributes(attributes)
            .with_links(invocation.links)
            .start_with_context(tracer, &parent);
        let cx = parent.with_span(span);

        if let Some(info) = &cold {
            if cx.span().span_context().is_sampled() {
                info.record_span(tracer, &cx);
            }
            self.metrics()
                .init_duration
                .record(info.init_duration.as_secs_f64(), &[]);
        }

        InvocationSpan {
            cx,
            started,
            trigger: invocation.trigger,
            cold_start,
            warmup: invocation.warmup,
            telemetry: self.clone(),
        }
    }
}

impl InvocationSpan {
    /// The context holding the invocation span: make it current for the handler
    /// (`opentelemetry::context::FutureExt::with_context`) so its spans become children.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Runs `future` with the invocation's context current at every poll, so that spans
    /// created inside (with the OpenTelemetry API or, with the `tracing` feature, with
    /// `tracing`) become children of the invocation span.
    pub fn scope<F: std::future::Future>(
        &self,
        future: F,
    ) -> opentelemetry::context::WithContext<F> {
        opentelemetry::context::FutureExt::with_context(future, self.cx.clone())
    }

    /// Whether this invocation was the process's user-visible cold start.
    pub fn is_cold_start(&self) -> bool {
        self.cold_start
    }

    /// Sets an attribute learned during the invocation (an HTTP status, say).
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }

    /// Ends the span: status, `error.type` and an `exception` event on failure, cost
    /// attributes, and the FaaS metrics (not for warm-up pings).
    pub fn end(self, outcome: Outcome) {
        let duration = self.started.elapsed();
        let span = self.cx.span();
        let trigger = [KeyValue::new(attr::FAAS_TRIGGER, self.trigger.as_str())];
        let metrics = self.telemetry.metrics();
        match &outcome {
            Outcome::Ok => {}
            Outcome::Error {
                error_type,
                message,
            } => {
                span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error_type.clone()));
                span.add_event(
                    "exception",
                    vec![
                        KeyValue::new(attr::EXCEPTION_TYPE, error_type.clone()),
                        KeyValue::new(attr::EXCEPTION_MESSAGE, message.clone()),
                    ],
                );
                span.set_status(Status::error(message.clone()));
            }
            Outcome::Timeout => {
                span.set_attribute(KeyValue::new(attr::ERROR_TYPE, "timeout"));
                span.set_status(Status::error("invocation timed out"));
            }
        }
        if let (Some(model), Some(memory_mb)) =
            (self.telemetry.cost_model(), self.telemetry.memory_mb())
        {
            let estimate = model.estimate(&BillingInput {
                duration,
                memory_mb,
                architecture: self.telemetry.architecture(),
                vcpus: None,
            });
            span.set_attributes(estimate.attributes());
        }
        span.end();
        if !self.warmup {
            metrics.invocations.add(1, &trigger);
            metrics
                .invoke_duration
                .record(duration.as_secs_f64(), &trigger);
            if self.cold_start {
                metrics.coldstarts.add(1, &trigger);
            }
            match outcome {
                Outcome::Ok => {}
                Outcome::Error { .. } => metrics.errors.add(1, &trigger),
                Outcome::Timeout => metrics.timeouts.add(1, &trigger),
            }
        }
    }
}
