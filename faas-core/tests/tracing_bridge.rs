//! With the `tracing` feature, `tracing` spans inside a handler are children of the invocation
//! span and leave with the same flush.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test(flavor = "current_thread")]
async fn tracing_spans_become_children_of_the_invocation() {
    let exporter = InMemorySpanExporter::default();
    let telemetry = Telemetry::builder(LocalEnvironment::named("fn"))
        .with_env(Env::from_pairs([("OTEL_METRICS_EXPORTER", "none")]))
        .with_span_exporter(exporter.clone())
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
        .unwrap();
    let _ = telemetry.cold_start().take();
    let subscriber =
        tracing_subscriber::registry().with(faas_core::tracing_bridge::layer(&telemetry));
    let _default = tracing::subscriber::set_default(subscriber);

    let span = telemetry.start_invocation(Invocation::new("fn", Trigger::Other));
    let invocation_id = span.context().span().span_context().clone();
    span.scope(async {
        let outer = tracing::info_span!("load order");
        let _entered = outer.enter();
        tracing::info_span!("query").in_scope(|| {});
    })
    .await;
    span.end(Outcome::Ok);
    let report = telemetry.flush(None).await;
    assert_eq!(report.exported_spans, 3, "{report:?}");

    let spans = exporter.get_finished_spans().unwrap();
    let load = spans.iter().find(|s| s.name == "load order").unwrap();
    let query = spans.iter().find(|s| s.name == "query").unwrap();
    assert_eq!(load.span_context.trace_id(), invocation_id.trace_id());
    assert_eq!(load.parent_span_id, invocation_id.span_id());
    assert_eq!(query.parent_span_id, load.span_context.span_id());
}
