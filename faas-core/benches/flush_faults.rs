//! Time one invocation adds (its spans ended, then the flush) with the collector healthy,
//! stalled, answering 503 or refusing connections, for the first invocation of a process and
//! at steady state, all against the test kit's real OTLP/HTTP receiver on loopback; and the
//! copy a flush keeps of its batch so a failed export can put it back.
//!
//! `cargo bench -p faas-core --bench flush_faults`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;
use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{RefusedPort, Reply};
use opentelemetry::trace::Tracer;
use opentelemetry_sdk::trace::InMemorySpanExporter;

/// A collector in one of the states measured; keeps the listener alive.
enum Collector {
    Receiver(OtlpReceiver),
    Refused(RefusedPort),
}

impl Collector {
    fn start(state: &str) -> Self {
        match state {
            "healthy" => {
                let receiver = OtlpReceiver::start().unwrap();
                receiver.count_only();
                Self::Receiver(receiver)
            }
            "stalled" => Self::Receiver(OtlpReceiver::answering(Reply::Stall).unwrap()),
            "503" => {
                let receiver = OtlpReceiver::answering(Reply::status(503)).unwrap();
                receiver.count_only();
                Self::Receiver(receiver)
            }
            _ => Self::Refused(RefusedPort::new().unwrap()),
        }
    }

    fn url(&self) -> String {
        match self {
            Self::Receiver(r) => r.url(),
            Self::Refused(r) => r.url(),
        }
    }
}

const STATES: [&str; 4] = ["healthy", "stalled", "503", "refused"];

fn telemetry(endpoint: &str) -> Telemetry {
    let cold = Box::leak(Box::new(ColdStart::from_process()));
    let _ = cold.take();
    Telemetry::builder(LocalEnvironment::named("bench"))
        .with_env(Env::from_pairs([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_METRICS_EXPORTER", "none"),
        ]))
        .with_cold_start(cold)
        .install_global(false)
        .build()
        .unwrap()
}

/// One invocation: the invocation span and 3 children ended, then the flush.
async fn invocation(telemetry: &Telemetry) {
    let span = telemetry.start_invocation(Invocation::new("fn", Trigger::Other));
    for i in 0..3 {
        let _child = telemetry
            .tracer()
            .start_with_context(format!("child {i}"), span.context());
    }
    span.end(Outcome::Ok);
    black_box(telemetry.flush(None).await);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The first invocation of a fresh process (new pipeline, new connection, no back-off yet).
fn first_invocation(c: &mut Criterion) {
    let mut group = c.benchmark_group("first_invocation");
    group.sample_size(10);
    for state in STATES {
        let collector = Collector::start(state);
        let rt = runtime();
        group.bench_function(state, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let telemetry = telemetry(&collector.url());
                    let started = Instant::now();
                    rt.block_on(invocation(&telemetry));
                    total = total.saturating_add(started.elapsed());
                    // Not measured: the drop drain (its own budget, on its own thread).
                    rt.block_on(telemetry.shutdown());
                    drop(telemetry);
                }
                total
            });
        });
    }
    group.finish();
}

/// Invocation after invocation in one process (a warm function): with a fault, the exporter
/// is backing off for most of them and probes again after each interval.
fn steady_state(c: &mut Criterion) {
    let mut group = c.benchmark_group("steady_state");
    group.sample_size(20);
    for state in STATES {
        let collector = Collector::start(state);
        let rt = runtime();
        let telemetry = telemetry(&collector.url());
        // Past the first invocation (and its stalled attempt).
        rt.block_on(invocation(&telemetry));
        group.bench_function(state, |b| b.iter(|| rt.block_on(invocation(&telemetry))));
    }
    group.finish();
}

/// The copy of a 4-span batch a flush keeps to requeue it if the export fails.
fn batch_copy(c: &mut Criterion) {
    let exporter = InMemorySpanExporter::default();
    let cold = Box::leak(Box::new(ColdStart::from_process()));
    let _ = cold.take();
    let telemetry = Telemetry::builder(LocalEnvironment::named("bench"))
        .with_env(Env::from_pairs([("OTEL_METRICS_EXPORTER", "none")]))
        .with_span_exporter(exporter.clone())
        .with_cold_start(cold)
        .install_global(false)
        .build()
        .unwrap();
    let rt = runtime();
    rt.block_on(invocation(&telemetry));
    let batch = exporter.get_finished_spans().unwrap();
    assert_eq!(batch.len(), 4);
    c.bench_function("requeue_copy_of_4_spans", |b| {
        b.iter(|| black_box(black_box(&batch).clone()))
    });
}

criterion_group!(benches, first_invocation, steady_state, batch_copy);
criterion_main!(benches);
