//! The AWS SDK interceptor: one span per SDK call, context in the HTTP headers and in the
//! messages.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut, Error, FinalizerInterceptorContextRef, Output,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_types::region::Region;
use faas_core::attributes::PROPAGATION_SKIPPED;
use opentelemetry::global::{BoxedTracer, ObjectSafeTracerProvider};
use opentelemetry::trace::{Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;

use crate::carrier::{TRACEPARENT, TRACESTATE, XRAY_HEADER, w3c_fields, xray_trace_header};
use crate::plan::{AWS_API, Plan, RPC_SERVICE, RPC_SYSTEM};

/// The instrumentation scope name of the spans.
pub const TRACER_NAME: &str = "faas-otel";

/// An AWS SDK interceptor that traces every call of the client it is added to and carries the
/// trace context to the receiver.
///
/// Add it once per client configuration (the SDK has no interceptors on the shared
/// `SdkConfig`):
///
/// ```no_run
/// # async fn example() {
/// let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let config = aws_sdk_sqs::config::Builder::from(&shared)
///     .interceptor(faas_messaging::TracingInterceptor::new())
///     .build();
/// let sqs = aws_sdk_sqs::Client::from_conf(config);
/// # let _ = sqs;
/// # }
/// ```
///
/// Per call it:
/// - starts a span, child of [`Context::current`]: CLIENT `{Service}.{Operation}` with
///   `rpc.system=aws-api`, `rpc.service`, `rpc.method`, `cloud.region`; PRODUCER
///   `{send|publish} {destination}` with the `messaging.*` attributes for SQS `SendMessage`,
///   `SendMessageBatch`, SNS `Publish`, `PublishBatch` and EventBridge `PutEvents`; CLIENT
///   `{function} invoke` with `faas.invoked_*` for Lambda `Invoke`;
/// - injects the span's context into the message (SQS/SNS message attributes, EventBridge
///   `detail._faas_otel` and trace header, Lambda client context `custom`), recording
///   `faas_otel.propagation.skipped` when a message has to be left unchanged;
/// - sets the `traceparent` (and `tracestate`) and `X-Amzn-Trace-Id` request headers (keeping
///   the `Lineage` of an existing X-Ray header);
/// - ends the span with `aws.request_id`, `http.response.status_code`, `messaging.message.id`,
///   and on failure `error.type` and an error status.
///
/// It never fails a call. Per-call state lives in the call's `ConfigBag`, so concurrent calls
/// through one client never mix.
#[derive(Clone)]
pub struct TracingInterceptor {
    /// `None`: the global provider's tracer, looked up per call.
    tracer: Option<Arc<BoxedTracer>>,
}

impl fmt::Debug for TracingInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracingInterceptor").finish_non_exhaustive()
    }
}

impl Default for TracingInterceptor {
    fn default() -> Self {
        Self::new()
    }
}

impl TracingInterceptor {
    /// Uses the global tracer provider's tracer [`TRACER_NAME`] (resolved at each call, so a
    /// provider installed later is honoured).
    pub fn new() -> Self {
        Self { tracer: None }
    }

    /// Uses the tracer [`TRACER_NAME`] of `provider` (for instance an
    /// `opentelemetry_sdk::trace::SdkTracerProvider`).
    pub fn with_tracer_provider<P: ObjectSafeTracerProvider>(provider: &P) -> Self {
        let scope = opentelemetry::InstrumentationScope::builder(TRACER_NAME).build();
        Self::with_tracer(BoxedTracer::new(provider.boxed_tracer(scope)))
    }

    /// Uses `tracer`.
    pub fn with_tracer(tracer: BoxedTracer) -> Self {
        Self {
            tracer: Some(Arc::new(tracer)),
        }
    }

    fn tracer(&self) -> Arc<BoxedTracer> {
        match &self.tracer {
            Some(tracer) => Arc::clone(tracer),
            None => Arc::new(opentelemetry::global::tracer(TRACER_NAME)),
        }
    }
}

/// The span of one call, kept in the call's config bag.
#[derive(Debug, Clone)]
struct CallState {
    cx: Context,
    service: String,
    operation: String,
}

/// The caller's context and the start of the call, noted before the operation is known.
#[derive(Debug, Clone)]
struct CallStart {
    parent: Context,
    time: SystemTime,
}

impl Storable for CallStart {
    type Storer = StoreReplace<Self>;
}

impl Storable for CallState {
    type Storer = StoreReplace<Self>;
}

fn state(cfg: &ConfigBag) -> Option<CallState> {
    cfg.load::<CallState>().cloned()
}

/// The span of a call of `service` / `operation`.
fn plan(
    service: &str,
    operation: &str,
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
    region: Option<&str>,
) -> Plan {
    let _ = (input, region);
    let special = match service {
        #[cfg(feature = "sqs")]
        "SQS" => crate::sqs::plan(operation, input),
        #[cfg(feature = "sns")]
        "SNS" => crate::sns::plan(operation, input),
        #[cfg(feature = "eventbridge")]
        "EventBridge" => crate::eventbridge::plan(operation, input),
        #[cfg(feature = "lambda")]
        "Lambda" => crate::lambda::plan(operation, input, region),
        _ => None,
    };
    special.unwrap_or_else(|| Plan::client(service, operation))
}

fn inject_message(
    state: &CallState,
    input: &mut aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Option<crate::SkipReason> {
    let (operation, cx) = (state.operation.as_str(), &state.cx);
    let _ = (operation, cx, &input);
    match state.service.as_str() {
        #[cfg(feature = "sqs")]
        "SQS" => crate::sqs::inject(operation, input, cx),
        #[cfg(feature = "sns")]
        "SNS" => crate::sns::inject(operation, input, cx),
        #[cfg(feature = "eventbridge")]
        "EventBridge" => crate::eventbridge::inject(operation, input, cx),
        #[cfg(feature = "lambda")]
        "Lambda" => crate::lambda::inject(operation, input, cx),
        _ => None,
    }
}

fn message_id(state: &CallState, output: &Output) -> Option<String> {
    let operation = state.operation.as_str();
    let _ = (operation, output);
    match state.service.as_str() {
        #[cfg(feature = "sqs")]
        "SQS" => crate::sqs::message_id(operation, output),
        #[cfg(feature = "sns")]
        "SNS" => crate::sns::message_id(operation, output),
        #[cfg(feature = "eventbridge")]
        "EventBridge" => crate::eventbridge::message_id(operation, output),
        _ => None,
    }
}

fn operation_error_code(service: &str, error: &Error) -> Option<String> {
    let _ = error;
    match service {
        #[cfg(feature = "sqs")]
        "SQS" => crate::sqs::error_code(error),
        #[cfg(feature = "sns")]
        "SNS" => crate::sns::error_code(error),
        #[cfg(feature = "eventbridge")]
        "EventBridge" => crate::eventbridge::error_code(error),
        #[cfg(feature = "lambda")]
        "Lambda" => crate::lambda::error_code(error),
        _ => None,
    }
}

/// The error code a response header names (`x-amzn-query-error: Code;Sender`,
/// `x-amzn-errortype: Code:uri`).
fn header_error_code(response: &HttpResponse) -> Option<String> {
    let headers = response.headers();
    headers
        .get("x-amzn-query-error")
        .and_then(|value| value.split(';').next())
        .or_else(|| {
            headers
                .get("x-amzn-errortype")
                .and_then(|value| value.split(':').next())
        })
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
}

/// `error.type` of a failed call: the AWS error code when known, otherwise the kind of failure.
fn error_type(
    service: &str,
    error: &OrchestratorError<Error>,
    response: Option<&HttpResponse>,
) -> String {
    if let Some(code) = error
        .as_operation_error()
        .and_then(|error| operation_error_code(service, error))
        .or_else(|| response.and_then(header_error_code))
    {
        return code;
    }
    if error.is_timeout_error() {
        "timeout".to_owned()
    } else if error.is_connector_error() {
        "connection_error".to_owned()
    } else if let Some(response) = response.filter(|r| r.status().as_u16() >= 400) {
        response.status().as_u16().to_string()
    } else if error.is_interceptor_error() {
        "interceptor_error".to_owned()
    } else if error.is_response_error() {
        "response_error".to_owned()
    } else {
        "_OTHER".to_owned()
    }
}

impl Intercept for TracingInterceptor {
    fn name(&self) -> &'static str {
        "faas_messaging::TracingInterceptor"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Client interceptors run this hook before the operation's configuration (and its
        // `Metadata`) is in the bag: note the caller's context and the time, start the span
        // in `modify_before_serialization`.
        cfg.interceptor_state().store_put(CallStart {
            parent: Context::current(),
            time: SystemTime::now(),
        });
        Ok(())
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (parent, time) = match cfg.load::<CallStart>() {
            Some(start) => (start.parent.clone(), start.time),
            None => (Context::current(), SystemTime::now()),
        };
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_else(|| ("unknown".to_owned(), "unknown".to_owned()));
        let region = cfg.load::<Region>().map(|r| r.as_ref().to_owned());
        let plan = plan(&service, &operation, context.input(), region.as_deref());
        let mut attributes = vec![
            KeyValue::new(RPC_SYSTEM, AWS_API),
            KeyValue::new(RPC_SERVICE, service.clone()),
            KeyValue::new(semconv::RPC_METHOD, operation.clone()),
        ];
        if let Some(region) = region {
            attributes.push(KeyValue::new(semconv::CLOUD_REGION, region));
        }
        attributes.extend(plan.attributes);
        let tracer = self.tracer();
        let span = tracer
            .span_builder(plan.name)
            .with_kind(plan.kind)
            .with_start_time(time)
            .with_attributes(attributes)
            .start_with_context(tracer.as_ref(), &parent);
        let state = CallState {
            cx: parent.with_span(span),
            service,
            operation,
        };
        if let Some(reason) = inject_message(&state, context.input_mut()) {
            state
                .cx
                .span()
                .set_attribute(KeyValue::new(PROPAGATION_SKIPPED, reason.as_str()));
        }
        cfg.interceptor_state().store_put(state);
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(state) = state(cfg) else {
            return Ok(());
        };
        // `try_insert`: a value the SDK refuses is dropped, never a panic or a failed call.
        let headers = context.request_mut().headers_mut();
        if let Ok(fields) = w3c_fields(&state.cx) {
            let _ = headers.try_insert(TRACEPARENT, fields.traceparent);
            if let Some(tracestate) = fields.tracestate {
                let _ = headers.try_insert(TRACESTATE, tracestate);
            }
        }
        let span = state.cx.span();
        if let Some(xray) = xray_trace_header(span.span_context(), headers.get(XRAY_HEADER)) {
            let _ = headers.try_insert(XRAY_HEADER, xray);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(state) = state(cfg) else {
            return Ok(());
        };
        cfg.interceptor_state().unset::<CallState>();
        cfg.interceptor_state().unset::<CallStart>();
        let span = state.cx.span();
        let response = context.response();
        if let Some(response) = response {
            span.set_attribute(KeyValue::new(
                semconv::HTTP_RESPONSE_STATUS_CODE,
                i64::from(response.status().as_u16()),
            ));
            if let Some(id) = response
                .headers()
                .get("x-amzn-requestid")
                .or_else(|| response.headers().get("x-amz-request-id"))
            {
                span.set_attribute(KeyValue::new(semconv::AWS_REQUEST_ID, id.to_owned()));
            }
        }
        match context.output_or_error() {
            Some(Ok(output)) => {
                if let Some(id) = message_id(&state, output) {
                    span.set_attribute(KeyValue::new(semconv::MESSAGING_MESSAGE_ID, id));
                }
            }
            Some(Err(error)) => {
                span.set_attribute(KeyValue::new(
                    semconv::ERROR_TYPE,
                    error_type(&state.service, error, response),
                ));
                span.set_status(Status::error(error.to_string()));
            }
            None => {}
        }
        span.end();
        Ok(())
    }
}
