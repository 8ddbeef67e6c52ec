//! Benchmark contrast (`cargo xtask bench`): the `bench-bare` handler traced by the recipe the
//! `lambda_runtime` project documents: its `OpenTelemetryLayer`, `tracing-opentelemetry`, an
//! OTLP/HTTP exporter with the blocking reqwest client behind the SDK's batch span processor,
//! and `force_flush` after every invocation. The endpoint comes from the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` variable, read by the exporter itself.

use lambda_runtime::layers::{OpenTelemetryFaasTrigger, OpenTelemetryLayer};
use lambda_runtime::{Error, LambdaEvent, Runtime, service_fn};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt as _;

async fn handler(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(serde_json::json!({ "ok": true }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("bench-upstream");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber)?;

    let flush_provider = provider.clone();
    let runtime = Runtime::new(service_fn(handler)).layer(
        OpenTelemetryLayer::new(move || {
            // The recipe ignores the result: a failed export must not fail the invocation.
            let _ = flush_provider.force_flush();
        })
        .with_trigger(OpenTelemetryFaasTrigger::Other),
    );
    // `FAAS_OTEL_BENCH_LOOP=worker`: the loop as a task on a worker thread, as
    // `faas_aws::run` runs it, so the bench can compare the two tracings in the same placement.
    let result = if std::env::var("FAAS_OTEL_BENCH_LOOP").as_deref() == Ok("worker") {
        tokio::spawn(runtime.run()).await?
    } else {
        runtime.run().await
    };
    let _ = provider.shutdown();
    result
}
