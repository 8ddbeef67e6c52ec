//! Cost of building and ending one invocation span (with cold-start check, attributes, cost
//! estimate and FaaS metrics) against a plain SDK span from the same tracer, both exported to
//! an in-memory exporter through the same bounded queue.
//!
//! `cargo bench -p faas-core --bench invocation_span`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use faas_core::cold_start::ColdStart;
use faas_core::cost::{MemoryUnit, PricePlan};
use faas_core::env::Env;
use faas_core::faas_environment::FaasEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;
use faas_core::propagation::{HeaderExtractor, HeaderInjector, Propagation};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span, Tracer};
use opentelemetry_sdk::trace::InMemorySpanExporter;

/// A 128 MB function with a Lambda-like price plan, so the cost estimate is part of the cost.
#[derive(Debug)]
struct BenchFn;
impl FaasEnvironment for BenchFn {
    fn function_name(&self) -> &str {
        "orders"
    }
    fn resource_attributes(&self) -> Vec<KeyValue> {
        Vec::new()
    }
    fn max_memory_bytes(&self) -> Option<u64> {
        Some(128 * 1024 * 1024)
    }
    fn price_plan(&self) -> Option<PricePlan> {
        Some(PricePlan {
            name: "bench".into(),
            gb_second_usd: 0.0000166667,
            gb_second_usd_arm64: Some(0.0000133334),
            vcpu_second_usd: None,
            memory_unit: MemoryUnit::BinaryGb,
            request_usd: 0.0000002,
            duration_granularity: Duration::from_millis(1),
            minimum_duration: Duration::ZERO,
            memory_step_mb: 1,
            default_vcpus: None,
        })
    }
}

fn setup() -> (Telemetry, InMemorySpanExporter, tokio::runtime::Runtime) {
    let exporter = InMemorySpanExporter::default();
    let cold = Box::leak(Box::new(ColdStart::from_process()));
    let _ = cold.take();
    let telemetry = Telemetry::builder(BenchFn)
        .with_env(Env::from_pairs([("OTEL_METRICS_EXPORTER", "none")]))
        .with_span_exporter(exporter.clone())
        .with_cold_start(cold)
        .install_global(false)
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (telemetry, exporter, rt)
}

fn drain_every(
    n: &mut u32,
    telemetry: &Telemetry,
    exporter: &InMemorySpanExporter,
    rt: &tokio::runtime::Runtime,
) {
    *n += 1;
    if (*n).is_multiple_of(1024) {
        rt.block_on(telemetry.flush(None));
        exporter.reset();
    }
}

fn invocation_span(c: &mut Criterion) {
    let (telemetry, exporter, rt) = setup();
    let mut group = c.benchmark_group("invocation_span");
    let mut n = 0;
    group.bench_function("baseline: plain SDK span with 3 attributes", |b| {
        b.iter(|| {
            let mut span = telemetry.tracer().start("orders");
            span.set_attribute(KeyValue::new("faas.trigger", "http"));
            span.set_attribute(KeyValue::new(
                "faas.invocation_id",
                "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
            ));
            span.set_attribute(KeyValue::new("faas.coldstart", false));
            span.end();
            drain_every(&mut n, &telemetry, &exporter, &rt);
        })
    });
    group.bench_function("faas-core: invocation span start + end", |b| {
        b.iter(|| {
            let span = telemetry.start_invocation(
                Invocation::new("orders", Trigger::Http)
                    .with_invocation_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
            );
            black_box(span.context());
            span.end(Outcome::Ok);
            drain_every(&mut n, &telemetry, &exporter, &rt);
        })
    });
    group.finish();
}

/// The watchdog's happy path: an invocation with two child spans (the open-span tracker sees
/// them), without and with a watchdog armed at the start and disarmed at the end.
fn watchdog(c: &mut Criterion) {
    let (telemetry, exporter, rt) = setup();
    let _entered = rt.enter();
    let mut group = c.benchmark_group("watchdog");
    let mut n = 0;
    let run = |armed: bool, n: &mut u32| {
        let mut span = telemetry.start_invocation(
            Invocation::new("orders", Trigger::Http)
                .with_invocation_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
        );
        if armed {
            span.watch_after(Duration::from_secs(3));
        }
        for name in ["GET inventory", "PUT order"] {
            let mut child = telemetry.tracer().start_with_context(name, span.context());
            child.set_attribute(KeyValue::new("http.request.method", "GET"));
            child.end();
        }
        span.end(Outcome::Ok);
        drain_every(n, &telemetry, &exporter, &rt);
    };
    group.bench_function("baseline: invocation span + 2 children, no watchdog", |b| {
        b.iter(|| run(false, &mut n))
    });
    group.bench_function(
        "invocation span + 2 children, watchdog armed and disarmed",
        |b| b.iter(|| run(true, &mut n)),
    );
    group.finish();
}

fn propagation(c: &mut Criterion) {
    let propagation = Propagation::default();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        http::HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    );
    c.bench_function("propagation: extract traceparent from a HeaderMap", |b| {
        b.iter(|| black_box(propagation.extract(&HeaderExtractor(black_box(&headers)))))
    });
    let cx = propagation.extract(&HeaderExtractor(&headers));
    c.bench_function("propagation: inject traceparent into a HeaderMap", |b| {
        b.iter(|| {
            let mut out = http::HeaderMap::new();
            propagation.inject(black_box(&cx), &mut HeaderInjector(&mut out));
            black_box(out)
        })
    });
}

criterion_group!(benches, invocation_span, watchdog, propagation);
criterion_main!(benches);
