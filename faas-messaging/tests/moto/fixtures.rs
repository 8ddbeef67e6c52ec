//! The SDK fixtures of these tests: SDK configs with the interceptor, an in-memory span
//! exporter, queue helpers. Moto's endpoint (or a clear skip) and the recording proxy come from
//! the test kit.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use faas_messaging::TracingInterceptor;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceId, Tracer, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

pub use faas_testkit::moto_endpoint;

/// A unique resource name.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Spans recorded in memory.
pub struct Telemetry {
    pub provider: SdkTracerProvider,
    pub exporter: InMemorySpanExporter,
}

impl Telemetry {
    pub fn new() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        Self { provider, exporter }
    }

    /// The interceptor, writing to this provider.
    pub fn interceptor(&self) -> TracingInterceptor {
        TracingInterceptor::with_tracer_provider(&self.provider)
    }

    /// A parent context with a started (sampled) span.
    pub fn parent(&self) -> Context {
        let span = self.provider.tracer("test").start("parent");
        Context::current_with_span(span)
    }

    pub fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap()
    }

    /// The one finished span named `name`.
    pub fn span(&self, name: &str) -> SpanData {
        let spans = self.spans();
        let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "spans named {name:?}: {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        found[0].clone()
    }
}

/// The shared SDK config pointing at `endpoint` with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// An attribute's value on a span.
pub fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

/// A span's attributes, sorted by key, as strings (for exact comparisons).
pub fn attributes(span: &SpanData) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = span
        .attributes
        .iter()
        .map(|KeyValue { key, value, .. }| (key.to_string(), value.to_string()))
        .collect();
    all.sort();
    all
}

/// `(trace id, span id)` of a `traceparent`.
pub fn parse_traceparent(traceparent: &str) -> (TraceId, SpanId) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    (
        TraceId::from_hex(parts[1]).unwrap(),
        SpanId::from_hex(parts[2]).unwrap(),
    )
}

/// The expected `traceparent` of a span.
pub fn traceparent_of(span: &SpanData) -> String {
    format!(
        "00-{}-{}-01",
        span.span_context.trace_id(),
        span.span_context.span_id()
    )
}

/// Creates an SQS queue and returns its URL and ARN.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attributes
        .attributes
        .unwrap()
        .remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .unwrap();
    (url, arn)
}

/// Receives up to 10 messages with every attribute.
pub async fn receive_all(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut messages = Vec::new();
    for _ in 0..5 {
        let output = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        messages.extend(output.messages.unwrap_or_default());
        if !messages.is_empty() {
            break;
        }
    }
    messages
}

/// The string message attribute `name` of an SQS message.
pub fn sqs_attribute(message: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    message
        .message_attributes
        .as_ref()?
        .get(name)?
        .string_value
        .clone()
}

/// The trace id of a context's span.
pub fn trace_id(cx: &Context) -> TraceId {
    cx.span().span_context().trace_id()
}

/// A client of SDK `$sdk` on `$config` with `$telemetry`'s interceptor (each SDK has its own
/// config builder type, so this is a macro).
macro_rules! traced {
    ($sdk:ident, $config:expr, $telemetry:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .interceptor($telemetry.interceptor())
                .build(),
        )
    };
}
pub(crate) use traced;

/// An SQS client with the interceptor.
pub async fn traced_sqs(endpoint: &str, telemetry: &Telemetry) -> aws_sdk_sqs::Client {
    traced!(aws_sdk_sqs, &sdk_config(endpoint).await, telemetry)
}

/// An SQS client without the interceptor (set-up and receiving).
pub async fn plain_sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(endpoint).await)
}

/// A span's attribute `key` as text.
pub fn attribute_text(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(|v| v.to_string())
}

/// Checks a span's kind and, key by key, its attributes as text (`None`: absent).
pub fn assert_span(span: &SpanData, kind: SpanKind, expected: &[(&str, Option<&str>)]) {
    assert_eq!(span.span_kind, kind, "{}", span.name);
    for (key, value) in expected {
        assert_eq!(attribute_text(span, key).as_deref(), *value, "{key}");
    }
}

/// What faas-aws makes of `event` on the consumer side: exactly one link, to `producer`;
/// returns it.
pub fn assert_links_to(event: &serde_json::Value, producer: &SpanData) -> SpanContext {
    let options = faas_aws::triggers::DescribeOptions::default();
    let description = faas_aws::triggers::describe(event, &options);
    assert_eq!(description.links.len(), 1, "{description:?}");
    let link = description.links[0].span_context.clone();
    assert_eq!(link.trace_id(), producer.span_context.trace_id());
    assert_eq!(link.span_id(), producer.span_context.span_id());
    link
}

/// A string SQS message attribute.
fn text_attribute(value: &str) -> aws_sdk_sqs::types::MessageAttributeValue {
    aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap()
}

/// The set-up of the SQS tests: a fresh queue on moto, a plain client (set-up and receiving)
/// and a traced one writing spans to `telemetry`.
pub struct QueueScene {
    pub telemetry: Telemetry,
    pub plain: aws_sdk_sqs::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// The queue's name (the PRODUCER span is `send NAME`).
    pub name: String,
    pub url: String,
    pub arn: String,
}

impl QueueScene {
    /// A queue named after `prefix` on moto; `None` (the test is skipped, see
    /// [`moto_endpoint`]) when `test` has no moto to run against.
    pub async fn start(test: &str, prefix: &str) -> Option<Self> {
        let endpoint = moto_endpoint(test)?;
        Some(Self::on(&endpoint, &endpoint, prefix).await)
    }

    /// A queue named after `prefix` on moto at `endpoint`; the traced client sends through
    /// `traced_endpoint` (moto itself or a proxy in front of it).
    pub async fn on(endpoint: &str, traced_endpoint: &str, prefix: &str) -> Self {
        let telemetry = Telemetry::new();
        let plain = plain_sqs(endpoint).await;
        let sqs = traced_sqs(traced_endpoint, &telemetry).await;
        let name = unique(prefix);
        let (url, arn) = create_queue(&plain, &name).await;
        Self {
            telemetry,
            plain,
            sqs,
            name,
            url,
            arn,
        }
    }

    /// Sends `body` with the string message `attributes` through the traced client, in
    /// `parent`'s context.
    pub async fn send(
        &self,
        body: &str,
        attributes: &[(String, String)],
        parent: Context,
    ) -> aws_sdk_sqs::operation::send_message::SendMessageOutput {
        use opentelemetry::context::FutureExt as _;
        let mut request = self
            .sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body);
        for (name, value) in attributes {
            request = request.message_attributes(name, text_attribute(value));
        }
        request.send().with_context(parent).await.unwrap()
    }

    /// Sends `body` through the traced client under a fresh parent span; returns the
    /// PRODUCER span.
    pub async fn send_traced(&self, body: &str) -> SpanData {
        self.send(body, &[], self.telemetry.parent()).await;
        self.producer()
    }

    /// The one PRODUCER span `send NAME`.
    pub fn producer(&self) -> SpanData {
        self.telemetry.span(&format!("send {}", self.name))
    }

    /// Receives (polling) until at least `n` messages arrived, at most ten times.
    pub async fn receive_at_least(&self, n: usize) -> Vec<aws_sdk_sqs::types::Message> {
        let mut received = Vec::new();
        for _ in 0..10 {
            received.extend(receive_all(&self.plain, &self.url).await);
            if received.len() >= n {
                break;
            }
        }
        received
    }
}
