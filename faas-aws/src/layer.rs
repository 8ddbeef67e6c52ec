//! [`FaasLayer`]: the tower layer that traces every Lambda invocation.
//!
//! It wraps `lambda_runtime`'s invocation service (the raw event, before it is deserialized
//! into the handler's type), so it works for any payload type. For each invocation it:
//!
//! 1. describes the event ([`crate::triggers::describe`]): trigger, span name and kind,
//!    attributes, the W3C parent from headers or the links of a message batch;
//! 2. falls back to the invocation's own X-Ray header (`Context::xray_trace_id`, never the
//!    `_X_AMZN_TRACE_ID` variable, which concurrent invocations share) and to the client
//!    context of a direct invoke;
//! 3. starts the invocation span (cold start, `faas.invocation_id`, the ARN attributes) and a
//!    CONSUMER child per message;
//! 4. runs the handler with the span's context current;
//! 5. once the handler ended (the outcome layers say so; without them, once the runtime
//!    posted the response), lets the runtime write the response first, then ends the spans
//!    with the outcome the handler reported and flushes within the budget, capped by the
//!    invocation's deadline, while the response's answer is awaited, and before the runtime
//!    asks for the next event.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime};

use faas_core::env::Env;
use faas_core::invocation::{Invocation, InvocationSpan, Outcome};
use faas_core::pipeline::Telemetry;
use faas_core::propagation::{MapExtractor, has_remote_parent};
use faas_core::watchdog::WatchdogConfig;
use lambda_runtime::{Context as LambdaContext, LambdaInvocation};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as attr;
use tower::{BoxError, Layer, Service};

use crate::arn::InvokedArn;
use crate::invocation_state::InvocationState;
use crate::triggers::{DescribeOptions, MessageDescription, describe};

/// `false` stops the invocation's X-Ray header from becoming the parent (default: it does).
pub const XRAY_PARENT_VAR: &str = "FAAS_OTEL_XRAY_PARENT";

/// Traces each invocation; see the module docs. Cheap to clone; clones share the telemetry
/// and the dropped-span counter, and each keeps its own options ([`FaasLayer::with_xray_parent`]).
#[derive(Debug, Clone)]
pub struct FaasLayer {
    shared: Arc<Shared>,
    /// Outside the `Arc`, so that setting it works on a layer that has been cloned.
    xray_parent: bool,
    /// When each invocation's watchdog fires (see [`FaasLayer::with_watchdog`]).
    watchdog: WatchdogConfig,
}

#[derive(Debug)]
struct Shared {
    telemetry: Telemetry,
    options: DescribeOptions,
    function_version: Option<String>,
    warmup: Option<Warmup>,
    /// Spans the previous flushes dropped, reported on the next invocation span.
    dropped: std::sync::atomic::AtomicU64,
    runtime_api: std::sync::OnceLock<Option<lambda_runtime_api_client::PooledClient>>,
}

/// Which events are warm-up pings (`FAAS_OTEL_WARMUP`): `field=value` matches a top-level
/// string field with that value (`source=serverless-plugin-warmup`); `field` alone matches
/// when the field is present and neither `null` nor `false` (`warmer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warmup {
    field: String,
    value: Option<String>,
}

impl Warmup {
    /// Parses the `FAAS_OTEL_WARMUP` syntax; `None` for an empty field name.
    pub fn parse(spec: &str) -> Option<Self> {
        let (field, value) = match spec.split_once('=') {
            Some((f, v)) => (f.trim(), Some(v.trim().to_owned())),
            None => (spec.trim(), None),
        };
        (!field.is_empty()).then(|| Self {
            field: field.to_owned(),
            value,
        })
    }

    /// Whether `event` is a warm-up ping.
    pub fn matches(&self, event: &serde_json::Value) -> bool {
        match (event.get(&self.field), &self.value) {
            (Some(serde_json::Value::String(s)), Some(value)) => s == value,
            (Some(_), Some(_)) | (None, _) => false,
            (Some(v), None) => !v.is_null() && v != &serde_json::Value::Bool(false),
        }
    }
}

impl FaasLayer {
    /// A layer recording into `telemetry`, with the telemetry's propagation and privacy lists
    /// (`FAAS_OTEL_DENY_HEADERS`, `FAAS_OTEL_DENY_QUERY_PARAMS`). Reads
    /// `FAAS_OTEL_XRAY_PARENT` and `FAAS_OTEL_WARMUP` from the process environment.
    pub fn new(telemetry: Telemetry) -> Self {
        Self::from_env(telemetry, &Env::process())
    }

    /// As [`FaasLayer::new`], reading `FAAS_OTEL_XRAY_PARENT`, `FAAS_OTEL_WARMUP` and
    /// `AWS_LAMBDA_FUNCTION_VERSION` from the given variables.
    pub fn from_env(telemetry: Telemetry, env: &Env) -> Self {
        let config = telemetry.config();
        let options = DescribeOptions {
            propagation: config.propagation.clone(),
            privacy: config.http_privacy.clone(),
        };
        let watchdog = WatchdogConfig::from_env_or_default(env, telemetry.config().flush_timeout);
        Self {
            watchdog,
            xray_parent: env
                .get(XRAY_PARENT_VAR)
                .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")),
            shared: Arc::new(Shared {
                options,
                function_version: env.get("AWS_LAMBDA_FUNCTION_VERSION"),
                warmup: env.get("FAAS_OTEL_WARMUP").and_then(|w| Warmup::parse(&w)),
                runtime_api: std::sync::OnceLock::new(),
                dropped: std::sync::atomic::AtomicU64::new(0),
                telemetry,
            }),
        }
    }

    /// Whether the invocation's X-Ray header becomes the parent when the event carries no W3C
    /// parent (default: yes, and only when it says `Sampled=1`: PassThrough's `Sampled=0` and
    /// Root-only headers always start a fresh root carrying `faas_otel.xray.trace_id` and a
    /// link to the X-Ray segment). Turn it off to make every such invocation a fresh root.
    pub fn with_xray_parent(mut self, enabled: bool) -> Self {
        self.xray_parent = enabled;
        self
    }

    /// Sets when each invocation's watchdog fires: `margin` before the invocation's deadline
    /// (`Lambda-Runtime-Deadline-Ms`) it ends the invocation span as a timeout (`error.type` =
    /// `timeout`, `faas.timeouts`), ends the spans still open under it as errors and flushes,
    /// so the trace reaches the collector before Lambda ends the environment. Default: read
    /// from `FAAS_OTEL_TIMEOUT_MARGIN_MS` (a value that cannot be used falls back to the
    /// default here; [`crate::Server`] refuses it at start-up), else the flush budget plus
    /// 50 ms.
    pub fn with_watchdog(mut self, config: WatchdogConfig) -> Self {
        self.watchdog = config;
        self
    }

    /// Whether the invocation's X-Ray header becomes the parent (see
    /// [`FaasLayer::with_xray_parent`]).
    pub fn xray_parent(&self) -> bool {
        self.xray_parent
    }

    /// The telemetry this layer records into.
    pub fn telemetry(&self) -> &Telemetry {
        &self.shared.telemetry
    }
}

impl<S> Layer<S> for FaasLayer {
    type Service = FaasService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaasService {
            inner,
            shared: self.shared.clone(),
            xray_parent: self.xray_parent,
            watchdog: self.watchdog,
        }
    }
}

/// The service [`FaasLayer`] produces.
#[derive(Debug, Clone)]
pub struct FaasService<S> {
    inner: S,
    shared: Arc<Shared>,
    xray_parent: bool,
    watchdog: WatchdogConfig,
}

/// One invocation in flight.
struct Started {
    span: InvocationSpan,
    messages: Vec<(Option<String>, opentelemetry_sdk::trace::Span)>,
    state: Arc<InvocationState>,
    deadline: Option<SystemTime>,
    warmup: bool,
}

impl Shared {
    fn parent(
        &self,
        described: Option<Context>,
        lambda: &LambdaContext,
        xray_parent: bool,
    ) -> Option<Context> {
        if let Some(parent) = described.filter(has_remote_parent) {
            return Some(parent);
        }
        if let Some(custom) = lambda.client_context.as_ref().map(|c| &c.custom) {
            let cx = self.options.propagation.extract(&MapExtractor(custom));
            if has_remote_parent(&cx) {
                return Some(cx);
            }
        }
        // Only `Sampled=1`: PassThrough's `Sampled=0` / Root-only headers start a fresh root.
        let header = lambda.xray_trace_id.as_deref().filter(|_| xray_parent);
        header.and_then(crate::triggers::xray_parent)
    }

    fn start(&self, invocation: &LambdaInvocation, xray_parent: bool) -> Started {
        let lambda = &invocation.context;
        let event: serde_json::Value =
            serde_json::from_slice(&invocation.body).unwrap_or(serde_json::Value::Null);
        let warmup = self.warmup.as_ref().is_some_and(|w| w.matches(&event));
        let described = describe(&event, &self.options);
        let function_name = self.telemetry.environment().function_name().to_owned();

        let mut attributes = described.attributes;
        if let Some(arn) = InvokedArn::parse(&lambda.invoked_function_arn) {
            attributes.push(KeyValue::new(
                attr::CLOUD_ACCOUNT_ID,
                arn.account_id.to_owned(),
            ));
            attributes.push(KeyValue::new(
                attr::CLOUD_RESOURCE_ID,
                arn.resource_id(self.function_version.as_deref()),
            ));
        }
        let dropped = self.dropped.swap(0, std::sync::atomic::Ordering::Relaxed);
        if dropped > 0 {
            attributes.push(KeyValue::new(
                faas_core::attributes::FLUSH_DROPPED_SPANS,
                i64::try_from(dropped).unwrap_or(i64::MAX),
            ));
        }
        if !lambda.invoked_function_arn.is_empty() {
            attributes.push(KeyValue::new(
                attr::AWS_LAMBDA_INVOKED_ARN,
                lambda.invoked_function_arn.clone(),
            ));
        }
        let batch_name = described.span_name.unwrap_or(function_name);
        let mut description = Invocation::new(batch_name.clone(), described.trigger)
            .with_invocation_id(lambda.request_id.clone())
            .with_attributes(attributes)
            .with_links(described.links);
        if let Some(kind) = described.kind {
            description = description.with_kind(kind);
        }
        description = match self.parent(described.parent, lambda, xray_parent) {
            Some(parent) => description.with_parent(parent),
            None => {
                crate::triggers::correlate_with_xray(description, lambda.xray_trace_id.as_deref())
            }
        };
        if warmup {
            description = description.warmup();
        }
        let span = self.telemetry.start_invocation(description);
        let messages = self.message_spans(&span, &batch_name, described.messages);
        // Deadlines come in ms after the epoch; emulators may send nonsense (1970), which the
        // flush ignores.
        let deadline = SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(lambda.deadline));
        Started {
            span,
            messages,
            state: Arc::new(InvocationState::default()),
            deadline,
            warmup,
        }
    }

    /// One CONSUMER child per message, named like the batch span (`{queue} process`), linked
    /// to the message's producer.
    fn message_spans(
        &self,
        span: &InvocationSpan,
        name: &str,
        messages: Vec<MessageDescription>,
    ) -> Vec<(Option<String>, opentelemetry_sdk::trace::Span)> {
        let parent = span.context();
        let tracer = self.telemetry.tracer();
        messages
            .into_iter()
            .map(|message| {
                let mut builder = tracer
                    .span_builder(name.to_owned())
                    .with_kind(SpanKind::Consumer)
                    .with_attributes(message.attributes);
                if let Some(link) = message.link {
                    builder = builder.with_links(vec![link]);
                }
                (message.id, builder.start_with_context(tracer, parent))
            })
            .collect()
    }

    /// Flushes within the budget; what it had to drop is reported on the next invocation.
    async fn flush(&self, deadline: Option<SystemTime>) {
        let report = self.telemetry.flush(deadline).await;
        if report.dropped_spans > 0 {
            self.dropped
                .fetch_add(report.dropped_spans, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Answers a warm-up ping on the Runtime API without running the handler.
    async fn answer_warmup(&self, request_id: &str) -> Result<(), BoxError> {
        let client = self
            .runtime_api
            .get_or_init(|| {
                std::env::var_os("AWS_LAMBDA_RUNTIME_API")
                    .map(|_| lambda_runtime_api_client::PooledClient::builder().build())
            })
            .as_ref()
            .ok_or("AWS_LAMBDA_RUNTIME_API is not set")?;
        let request = lambda_runtime_api_client::build_request()
            .method("POST")
            .uri(format!(
                "/2018-06-01/runtime/invocation/{request_id}/response"
            ))
            .header("content-type", "application/json")
            .body(lambda_runtime_api_client::body::Body::from(
                r#"{"warmup":true}"#.to_owned(),
            ))?;
        let response = client.call(request).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the Runtime API answered {}", response.status()).into())
        }
    }

    fn finish(&self, started: Started) {
        let facts = started.state.take();
        if let Some(status) = facts.http_status {
            started.span.set_attribute(KeyValue::new(
                attr::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status),
            ));
        }
        for (id, mut span) in started.messages {
            if id
                .as_ref()
                .is_some_and(|id| facts.failed_message_ids.contains(id))
            {
                span.set_attribute(KeyValue::new(attr::ERROR_TYPE, "batch_item_failure"));
                span.set_status(Status::error("reported in batchItemFailures"));
            }
            span.end();
        }
        let outcome = match (facts.outcome, facts.http_status) {
            (Some(Outcome::Ok) | None, Some(status)) => Outcome::from_http_status(status),
            (Some(outcome), _) => outcome,
            (None, None) => Outcome::Ok,
        };
        started.span.end(outcome);
    }
}

impl<S> Service<LambdaInvocation> for FaasService<S>
where
    S: Service<LambdaInvocation, Response = (), Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let shared = self.shared.clone();
        let mut started = shared.start(&invocation, self.xray_parent);
        if let Some(deadline) = started.deadline {
            started.span.watch_deadline(deadline, &self.watchdog);
        }
        if started.warmup {
            let request_id = invocation.context.request_id.clone();
            return Box::pin(async move {
                let result = shared.answer_warmup(&request_id).await;
                let deadline = started.deadline;
                if let Err(error) = &result {
                    started.state.set_outcome(Outcome::Error {
                        error_type: "warmup_response".to_owned(),
                        message: error.to_string(),
                    });
                }
                shared.finish(started);
                shared.flush(deadline).await;
                result
            });
        }
        let cx = started.span.context().with_value(started.state.clone());
        let future = self.inner.call(invocation).with_context(cx);
        Box::pin(async move {
            let state = started.state.clone();
            let mut future = std::pin::pin!(future);
            // The outcome layers say when the handler ended; without them, the runtime's
            // whole answer (the handler and the response's POST) ends first.
            let handler_ended = tokio::select! {
                biased;
                result = &mut future => Err(result),
                () = state.wait_handler_ended() => Ok(()),
            };
            let deadline = started.deadline;
            match handler_ended {
                Err(result) => {
                    shared.finish(started);
                    shared.flush(deadline).await;
                    result
                }
                // lambda_runtime is posting the response: export at the same time, so the
                // cycle pays the longer of the two round trips, not both; the runtime asks
                // for the next event only once both are done. `join!` polls the runtime's
                // future first, so the response is on its way before the spans are ended
                // and encoded: the caller does not wait for the tracing.
                Ok(()) => {
                    let (result, ()) = tokio::join!(future, async {
                        shared.finish(started);
                        shared.flush(deadline).await;
                    });
                    result
                }
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faas_core::faas_environment::LocalEnvironment;
    use serde_json::json;

    const XRAY_HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn layer(pairs: &[(&str, &str)]) -> FaasLayer {
        let mut vars = vec![
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ];
        vars.extend_from_slice(pairs);
        let env = Env::from_pairs(vars);
        let telemetry = Telemetry::builder(LocalEnvironment::named("fn"))
            .with_env(env.clone())
            .install_global(false)
            .build()
            .unwrap();
        FaasLayer::from_env(telemetry, &env)
    }

    fn xray_parented(layer: &FaasLayer) -> bool {
        let mut lambda = LambdaContext::default();
        lambda.xray_trace_id = Some(XRAY_HEADER.to_owned());
        layer
            .shared
            .parent(None, &lambda, layer.xray_parent)
            .is_some()
    }

    #[test]
    fn with_xray_parent_works_on_a_cloned_layer() {
        let on = layer(&[]);
        let clone = on.clone();
        assert!(on.xray_parent() && xray_parented(&on));
        let off = on.with_xray_parent(false);
        assert!(!off.xray_parent() && !xray_parented(&off));
        // The clone made before keeps its own setting; services made after follow the layer.
        assert!(clone.xray_parent() && xray_parented(&clone));
        let service = off.layer(());
        assert!(!service.xray_parent);
        let from_env = layer(&[("FAAS_OTEL_XRAY_PARENT", "FALSE")]);
        assert!(!xray_parented(&from_env));
        assert!(xray_parented(&from_env.clone().with_xray_parent(true)));
    }

    #[test]
    fn the_telemetry_privacy_lists_reach_the_describer() {
        let layer = layer(&[
            ("FAAS_OTEL_DENY_HEADERS", "X-Tenant"),
            ("FAAS_OTEL_DENY_QUERY_PARAMS", "session_id"),
        ]);
        let privacy = &layer.shared.options.privacy;
        assert_eq!(privacy.denied_headers, ["x-tenant"]);
        assert_eq!(privacy.denied_query_params, ["session_id"]);
    }

    #[test]
    fn warmup_spec_table() {
        let by_value = Warmup::parse("source=serverless-plugin-warmup");
        let by_field = Warmup::parse(" warmer ");
        assert_eq!(Warmup::parse(""), None);
        assert_eq!(Warmup::parse("=x"), None);
        let cases = [
            (
                &by_value,
                json!({"source": "serverless-plugin-warmup"}),
                true,
            ),
            (&by_value, json!({"source": "aws.events"}), false),
            (&by_value, json!({"source": true}), false),
            (&by_value, json!([1, 2]), false),
            (&by_field, json!({"warmer": true}), true),
            (&by_field, json!({"warmer": {"concurrency": 2}}), true),
            (&by_field, json!({"warmer": false}), false),
            (&by_field, json!({"warmer": null}), false),
            (&by_field, json!({}), false),
        ];
        for (warmup, event, expected) in cases {
            let warmup = warmup.as_ref().map(|w| w.matches(&event));
            assert_eq!(warmup, Some(expected), "{event}");
        }
    }
}
