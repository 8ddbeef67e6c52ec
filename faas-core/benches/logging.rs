//! Cost of one `tracing` event written as a correlated JSON line by faas-core's logging layer
//! (trace id, span id and request id read from the current context), against the same event
//! through `tracing-subscriber`'s own default formatter (no correlation), both to a sink,
//! inside an invocation.
//!
//! `cargo bench -p faas-core --features logging --bench logging`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Trigger};
use faas_core::logging::{InvocationIdKey, JsonStyle, LogFormat, Logging};
use faas_core::pipeline::Telemetry;
use tracing_subscriber::layer::SubscriberExt as _;

fn telemetry() -> Telemetry {
    Telemetry::builder(LocalEnvironment::named("orders"))
        .with_env(Env::from_pairs([
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ]))
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
        .unwrap()
}

fn event() {
    tracing::info!(order_id = 42, queue = "orders", "order accepted");
}

fn bench(c: &mut Criterion) {
    let telemetry = telemetry();
    let span = telemetry
        .start_invocation(Invocation::new("orders", Trigger::Http).with_invocation_id("req-1"));
    let _current = span.context().clone().attach();
    let mut group = c.benchmark_group("log line");

    let plain = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    tracing::subscriber::with_default(plain, || {
        group.bench_function("tracing-subscriber fmt (baseline)", |b| b.iter(event));
    });

    let format = LogFormat::Json(JsonStyle {
        invocation_id_key: InvocationIdKey::TopLevel("requestId"),
        ..JsonStyle::default()
    });
    let correlated = tracing_subscriber::registry().with(
        Logging::new(format)
            .with_writer(std::io::sink)
            .layer(&telemetry),
    );
    tracing::subscriber::with_default(correlated, || {
        group.bench_function("faas-core correlated JSON", |b| b.iter(event));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
