//! The SDK fixtures of these tests: SDK configs with the interceptor, an in-memory span
//! exporter, queue helpers. Moto's endpoint (or a clear skip) and the recording proxy come from
//! the test kit.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use faas_messaging::TracingInterceptor;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId, Tracer, TracerProvider as _};
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

/// An SQS client with the interceptor.
pub async fn traced_sqs(endpoint: &str, telemetry: &Telemetry) -> aws_sdk_sqs::Client {
    let shared = sdk_config(endpoint).await;
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&shared)
            .interceptor(telemetry.interceptor())
            .build(),
    )
}

/// An SQS client without the interceptor (set-up and receiving).
pub async fn plain_sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(endpoint).await)
}
