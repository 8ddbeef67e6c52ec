//! The invocation span: a provider-neutral description of one invocation ([`Invocation`])
//! turned into a span whose name, kind and attributes follow the FaaS conventions
//! ([`InvocationSpan`]), and ended with its outcome ([`Outcome`]).
//!
//! Provider crates describe what they parsed from the platform's event (trigger, id, parent or
//! links, attributes); this module does the rest: `faas.trigger`, `faas.invocation_id`,
//! `faas.coldstart` (exactly once per process), the initialization span, cost attributes,
//! status, `error.type`, the exception event and the FaaS metrics.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{Link, SpanId, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::attributes::semconv::attribute as attr;
use crate::attributes::{self, WARMUP};
use crate::cost::BillingInput;
pub use crate::current_invocation::CurrentInvocationId;
use crate::pipeline::{Telemetry, effective_budget};
use crate::watchdog::WatchdogConfig;
use crate::watchdog_timer::{Armed, Expire};

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
///
/// It is ended exactly once: by [`InvocationSpan::end`], by its watchdog
/// ([`InvocationSpan::watch_deadline`]) when the deadline comes first, or by the panic hook
/// ([`crate::panic_hook`]) when the process is about to abort. Whichever comes second does
/// nothing.
#[derive(Debug)]
pub struct InvocationSpan {
    shared: Arc<Shared>,
    watchdog: Option<Armed>,
}

/// What the ways of ending an invocation share.
#[derive(Debug)]
pub(crate) struct Shared {
    cx: Context,
    span_id: SpanId,
    started: Instant,
    trigger: Trigger,
    cold_start: bool,
    warmup: bool,
    telemetry: Telemetry,
    ended: AtomicBool,
    exception_recorded: AtomicBool,
    deadline: OnceLock<SystemTime>,
}

/// The invocation whose context is current, as the panic hook finds it (a weak reference: the
/// context must not keep its own invocation alive).
#[derive(Debug, Clone)]
struct CurrentInvocation(Weak<Shared>);

/// The invocation in flight whose context is current on this thread, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    Context::map_current(|cx| cx.get::<CurrentInvocation>().and_then(|c| c.0.upgrade()))
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
        let current_id = invocation
            .invocation_id
            .as_deref()
            .map(|id| CurrentInvocationId(Arc::from(id)));
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
        let span_id = opentelemetry::trace::Span::span_context(&span).span_id();
        let cx = parent.with_span(span);
        let cx = match current_id {
            Some(id) => cx.with_value(id),
            None => cx,
        };
        let shared = Arc::new_cyclic(|weak| Shared {
            cx: cx.with_value(CurrentInvocation(weak.clone())),
            span_id,
            started,
            trigger: invocation.trigger,
            cold_start,
            warmup: invocation.warmup,
            telemetry: self.clone(),
            ended: AtomicBool::new(false),
            exception_recorded: AtomicBool::new(false),
            deadline: OnceLock::new(),
        });
        let cx = &shared.cx;
        let sampled = cx.span().span_context().is_sampled();

        if let Some(info) = &cold {
            if sampled {
                info.record_span(tracer, cx);
            }
            self.metrics()
                .init_duration
                .record(info.init_duration.as_secs_f64(), &[]);
        }
        if sampled {
            self.open_spans().watch(span_id);
        }

        InvocationSpan {
            shared,
            watchdog: None,
        }
    }
}

impl InvocationSpan {
    /// The context holding the invocation span: make it current for the handler
    /// (`opentelemetry::context::FutureExt::with_context`) so its spans become children.
    pub fn context(&self) -> &Context {
        &self.shared.cx
    }

    /// Runs `future` with the invocation's context current at every poll, so that spans
    /// created inside (with the OpenTelemetry API or, with the `tracing` feature, with
    /// `tracing`) become children of the invocation span.
    pub fn scope<F: std::future::Future>(
        &self,
        future: F,
    ) -> opentelemetry::context::WithContext<F> {
        opentelemetry::context::FutureExt::with_context(future, self.shared.cx.clone())
    }

    /// Whether this invocation was the process's user-visible cold start.
    pub fn is_cold_start(&self) -> bool {
        self.shared.cold_start
    }

    /// Sets an attribute learned during the invocation (an HTTP status, say).
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.shared.cx.span().set_attribute(attribute);
    }

    /// Whether the span was ended already (by its watchdog or the panic hook, before
    /// [`InvocationSpan::end`]).
    pub fn is_ended(&self) -> bool {
        self.shared.ended.load(Ordering::Acquire)
    }

    /// Arms the watchdog for an invocation due at `deadline` (the platform's, e.g. Lambda's
    /// `Lambda-Runtime-Deadline-Ms`): [`WatchdogConfig::fire_after`] from now it ends the
    /// invocation as [`Outcome::Timeout`] (error status, `error.type` = `timeout`,
    /// `faas.timeouts`), ends the spans still open under it as errors (`error.type` =
    /// `timeout`) and flushes spans and metrics within the flush budget, capped by the
    /// deadline. [`InvocationSpan::end`] (or dropping the span) disarms it; after it fired,
    /// `end` does nothing. A deadline already past or implausibly far arms nothing; so does a
    /// thread without a tokio runtime. Arming again replaces the previous watchdog.
    pub fn watch_deadline(&mut self, deadline: SystemTime, config: &WatchdogConfig) {
        let Some(after) = config.fire_after(deadline, SystemTime::now()) else {
            return;
        };
        let _ = self.shared.deadline.set(deadline);
        self.watch_after(after);
    }

    /// Arms the watchdog to fire `after` from now (see [`InvocationSpan::watch_deadline`]);
    /// the flush is then bounded by the flush budget alone, unless a deadline was set.
    pub fn watch_after(&mut self, after: Duration) {
        self.watchdog = None;
        let Some(at) = tokio::time::Instant::now().checked_add(after) else {
            return;
        };
        let target = Arc::downgrade(&self.shared) as Weak<dyn Expire>;
        self.watchdog = self.shared.telemetry.open_spans().timers().arm(at, target);
    }

    /// Ends the span: status, `error.type` and an `exception` event on failure, cost
    /// attributes, and the FaaS metrics (not for warm-up pings). Does nothing when the
    /// watchdog or the panic hook ended it first.
    pub fn end(self, outcome: Outcome) {
        self.shared.end(outcome);
    }
}

impl Drop for InvocationSpan {
    fn drop(&mut self) {
        // Disarms the watchdog.
        self.watchdog = None;
        if !self.shared.ended.load(Ordering::Acquire) {
            self.shared
                .telemetry
                .open_spans()
                .unwatch(self.shared.span_id);
        }
    }
}

impl Expire for Shared {
    fn expire(self: Arc<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move { self.time_out().await })
    }
}

impl Shared {
    /// The watchdog fired: the spans still open under the invocation and the invocation end
    /// as timeouts, then spans and metrics are flushed.
    async fn time_out(&self) {
        if !self.end_with_open_spans(Outcome::Timeout, "timeout", "the invocation timed out") {
            return;
        }
        let budget = effective_budget(
            self.telemetry.config().flush_timeout,
            self.deadline(),
            SystemTime::now(),
        );
        let _report = self.telemetry.flush_within(budget, true).await;
    }

    /// Ends the spans still open under the invocation (`error.type` = `error_type`, status
    /// `message`), then the invocation with `outcome`; `false` if it was ended already.
    pub(crate) fn end_with_open_spans(
        &self,
        outcome: Outcome,
        error_type: &str,
        message: &str,
    ) -> bool {
        if self.ended.load(Ordering::Acquire) {
            return false;
        }
        self.telemetry
            .open_spans()
            .end_open_under(self.span_id, error_type, message);
        self.end(outcome)
    }

    /// The invocation's deadline, when its watchdog was armed with one.
    pub(crate) fn deadline(&self) -> Option<SystemTime> {
        self.deadline.get().copied()
    }

    /// The telemetry the invocation records into.
    pub(crate) fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Adds an `exception` event to the invocation span (the panic hook's, with the code
    /// location); the outcome's own exception event is then left out.
    pub(crate) fn record_exception(&self, attributes: Vec<KeyValue>) {
        if self.ended.load(Ordering::Acquire) {
            return;
        }
        self.cx.span().add_event("exception", attributes);
        self.exception_recorded.store(true, Ordering::Release);
    }

    /// Ends the span with `outcome`, once; `false` if it was ended already.
    pub(crate) fn end(&self, outcome: Outcome) -> bool {
        if self.ended.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.telemetry.open_spans().unwatch(self.span_id);
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
                if !self.exception_recorded.load(Ordering::Acquire) {
                    span.add_event(
                        "exception",
                        vec![
                            KeyValue::new(attr::EXCEPTION_TYPE, error_type.clone()),
                            KeyValue::new(attr::EXCEPTION_MESSAGE, message.clone()),
                        ],
                    );
                }
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
        true
    }
}
