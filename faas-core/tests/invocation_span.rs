//! The invocation span with an in-memory exporter: names, kinds, attributes, parents, links,
//! cold start, errors, cost and metrics, asserted exactly.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;

use faas_core::cold_start::ColdStart;
use faas_core::cost::{Architecture, BillingInput, CostEstimate, CostModel};
use faas_core::env::Env;
use faas_core::faas_environment::FaasEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;
use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

#[derive(Debug)]
struct FlatCost;
impl CostModel for FlatCost {
    fn estimate(&self, input: &BillingInput) -> CostEstimate {
        CostEstimate {
            total_usd: 0.5,
            compute_usd: 0.25,
            request_usd: 0.25,
            billed_duration: std::time::Duration::from_secs(1),
            billed_memory_mb: input.memory_mb,
            architecture: input.architecture,
        }
    }
}

/// The function the tests run as: a name, its resource, memory, architecture and price plan.
#[derive(Debug)]
struct TestFn {
    name: &'static str,
    resource: Vec<KeyValue>,
    memory_mb: u64,
    architecture: Architecture,
    plan: Option<faas_core::cost::PricePlan>,
}

impl TestFn {
    /// `orders`: 256 MB on arm64, no price plan.
    fn orders() -> Self {
        Self {
            name: "orders",
            resource: vec![KeyValue::new("cloud.provider", "test")],
            memory_mb: 256,
            architecture: Architecture::Arm64,
            plan: None,
        }
    }

    /// `priced`: 1 GB on x86_64, $1 per GB-second in whole seconds, requests free.
    fn priced() -> Self {
        Self {
            name: "priced",
            resource: Vec::new(),
            memory_mb: 1024,
            architecture: Architecture::X86_64,
            plan: Some(faas_core::cost::PricePlan {
                name: "test".into(),
                gb_second_usd: 1.0,
                gb_second_usd_arm64: None,
                vcpu_second_usd: None,
                memory_unit: faas_core::cost::MemoryUnit::BinaryGb,
                request_usd: 0.0,
                duration_granularity: std::time::Duration::from_secs(1),
                minimum_duration: std::time::Duration::ZERO,
                memory_step_mb: 1,
                default_vcpus: None,
            }),
        }
    }
}

impl FaasEnvironment for TestFn {
    fn function_name(&self) -> &str {
        self.name
    }
    fn resource_attributes(&self) -> Vec<KeyValue> {
        self.resource.clone()
    }
    fn max_memory_bytes(&self) -> Option<u64> {
        Some(self.memory_mb * 1024 * 1024)
    }
    fn architecture(&self) -> Architecture {
        self.architecture
    }
    fn price_plan(&self) -> Option<faas_core::cost::PricePlan> {
        self.plan.clone()
    }
}

struct Harness {
    telemetry: Telemetry,
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
}

impl Harness {
    fn new() -> Self {
        let spans = InMemorySpanExporter::default();
        let metrics = InMemoryMetricExporter::default();
        let cold = Box::leak(Box::new(ColdStart::from_process()));
        cold.mark_phase("startup");
        let telemetry = Telemetry::builder(TestFn::orders())
            .with_env(Env::from_pairs([("OTEL_SERVICE_NAME", "orders-svc")]))
            .with_span_exporter(spans.clone())
            .with_metric_exporter(metrics.clone())
            .with_cost_model(Arc::new(FlatCost))
            .with_cold_start(cold)
            .install_global(false)
            .build()
            .unwrap();
        Self {
            telemetry,
            spans,
            metrics,
        }
    }

    async fn finished(&self) -> Vec<SpanData> {
        let report = self.telemetry.flush(None).await;
        assert!(report.is_complete(), "{report:?}");
        self.spans.get_finished_spans().unwrap()
    }
}

fn attrs(span: &SpanData) -> HashMap<String, Value> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect()
}

fn remote_parent() -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

#[tokio::test]
async fn cold_start_is_reported_once_with_an_init_span_in_the_same_trace() {
    let h = Harness::new();
    for id in ["req-1", "req-2"] {
        let span = h
            .telemetry
            .start_invocation(Invocation::new("orders", Trigger::Http).with_invocation_id(id));
        span.end(Outcome::Ok);
    }
    let spans = h.finished().await;
    let invocations: Vec<_> = spans.iter().filter(|s| s.name == "orders").collect();
    assert_eq!(invocations.len(), 2);
    let first = attrs(invocations[0]);
    let second = attrs(invocations[1]);
    assert_eq!(first["faas.invocation_id"], Value::from("req-1"));
    assert_eq!(first["faas.coldstart"], Value::Bool(true));
    assert_eq!(first["faas_otel.init.type"], Value::from("on-demand"));
    assert_eq!(second["faas.coldstart"], Value::Bool(false));
    assert!(!second.contains_key("faas_otel.init.type"));

    let init = spans.iter().find(|s| s.name == "faas init").unwrap();
    assert_eq!(
        init.span_context.trace_id(),
        invocations[0].span_context.trace_id()
    );
    assert_eq!(init.parent_span_id, invocations[0].span_context.span_id());
    assert_eq!(init.span_kind, SpanKind::Internal);
    assert!(init.start_time <= invocations[0].start_time);
    let phases: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id == init.span_context.span_id())
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        phases,
        [
            "faas init startup",
            "faas init telemetry",
            "faas init ready"
        ]
    );
    assert_eq!(spans.len(), 2 + 1 + 3);
}

#[tokio::test]
async fn server_span_has_the_conventional_attributes_and_the_remote_parent() {
    let h = Harness::new();
    let _ = h.telemetry.cold_start().take();
    let span = h.telemetry.start_invocation(
        Invocation::new("GET /orders/{id}", Trigger::Http)
            .with_invocation_id("abc")
            .with_parent(remote_parent())
            .with_attribute(KeyValue::new("http.route", "/orders/{id}")),
    );
    span.set_attribute(KeyValue::new("http.response.status_code", 200));
    span.end(Outcome::from_http_status(200));
    let spans = h.finished().await;
    assert_eq!(spans.len(), 1);
    let s = &spans[0];
    assert_eq!(s.span_kind, SpanKind::Server);
    assert_eq!(s.status, Status::Unset);
    assert_eq!(
        s.span_context.trace_id(),
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap()
    );
    assert_eq!(
        s.parent_span_id,
        SpanId::from_hex("53995c3f42cd8ad8").unwrap()
    );
    assert!(s.parent_span_is_remote);
    let a = attrs(s);
    assert_eq!(a["faas.trigger"], Value::from("http"));
    assert_eq!(a["faas.invocation_id"], Value::from("abc"));
    assert_eq!(a["faas.coldstart"], Value::Bool(false));
    assert_eq!(a["http.route"], Value::from("/orders/{id}"));
    assert_eq!(a["http.response.status_code"], Value::I64(200));
    assert_eq!(a["faas_otel.cost.usd"], Value::F64(0.5));
    assert_eq!(a["faas_otel.cost.billed_memory_mb"], Value::I64(256));
    assert_eq!(a["faas_otel.cost.architecture"], Value::from("arm64"));
    let resource = h.telemetry.resource();
    assert_eq!(
        resource.get(&"service.name".into()),
        Some(Value::from("orders-svc"))
    );
    assert_eq!(
        resource.get(&"faas.max_memory".into()),
        Some(Value::I64(268_435_456))
    );
}

#[tokio::test]
async fn errors_set_status_error_type_and_an_exception_event() {
    let h = Harness::new();
    let _ = h.telemetry.cold_start().take();
    let span = h
        .telemetry
        .start_invocation(Invocation::new("fn", Trigger::Other));
    span.end(Outcome::Error {
        error_type: "OrderRejected".into(),
        message: "order 7 rejected".into(),
    });
    let http = h
        .telemetry
        .start_invocation(Invocation::new("GET /", Trigger::Http));
    http.end(Outcome::from_http_status(503));
    let spans = h.finished().await;
    assert_eq!(spans[0].status, Status::error("order 7 rejected"));
    assert_eq!(attrs(&spans[0])["error.type"], Value::from("OrderRejected"));
    let event = spans[0].events.iter().next().unwrap();
    assert_eq!(event.name, "exception");
    assert_eq!(
        event.attributes,
        vec![
            KeyValue::new("exception.type", "OrderRejected"),
            KeyValue::new("exception.message", "order 7 rejected"),
        ]
    );
    assert_eq!(attrs(&spans[1])["error.type"], Value::from("503"));
    assert!(matches!(spans[1].status, Status::Error { .. }));
}

#[tokio::test]
async fn pubsub_batches_are_consumer_spans_with_links() {
    let h = Harness::new();
    let _ = h.telemetry.cold_start().take();
    let producer = remote_parent().span().span_context().clone();
    let span = h.telemetry.start_invocation(
        Invocation::new("orders process", Trigger::PubSub).with_links([
            Link::with_context(producer.clone()),
            Link::with_context(producer),
        ]),
    );
    span.end(Outcome::Ok);
    let spans = h.finished().await;
    assert_eq!(spans[0].span_kind, SpanKind::Consumer);
    assert_eq!(spans[0].links.len(), 2);
    assert_eq!(
        spans[0].parent_span_id,
        SpanId::INVALID,
        "a batch is a new root"
    );
}

#[tokio::test]
async fn warmup_pings_absorb_the_cold_start_and_are_not_counted() {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let h = Harness::new();
    let ping = h
        .telemetry
        .start_invocation(Invocation::new("fn", Trigger::Other).warmup());
    assert!(ping.is_cold_start(), "the warmer takes the cold start");
    ping.end(Outcome::Ok);
    let real = h
        .telemetry
        .start_invocation(Invocation::new("fn", Trigger::Other));
    assert!(!real.is_cold_start(), "user traffic after a warmer is warm");
    real.end(Outcome::Ok);
    let spans = h.finished().await;
    let ping = spans
        .iter()
        .find(|s| attrs(s).contains_key("faas_otel.warmup"))
        .unwrap();
    assert_eq!(attrs(ping)["faas.coldstart"], Value::Bool(true));
    let init = spans.iter().find(|s| s.name == "faas init").unwrap();
    assert_eq!(init.parent_span_id, ping.span_context.span_id());
    h.telemetry.shutdown().await;
    let mut invocations = 0;
    let mut coldstarts = 0;
    for rm in h.metrics.get_finished_metrics().unwrap() {
        for sm in rm.scope_metrics() {
            for m in sm.metrics() {
                if let AggregatedMetrics::U64(MetricData::Sum(sum)) = m.data() {
                    let total: u64 = sum.data_points().map(|p| p.value()).sum();
                    match m.name() {
                        "faas.invocations" => invocations += total,
                        "faas.coldstarts" => coldstarts += total,
                        _ => {}
                    }
                }
            }
        }
    }
    assert_eq!(
        (invocations, coldstarts),
        (1, 0),
        "only the user invocation counts"
    );
}

#[tokio::test]
async fn faas_metrics_are_recorded_and_exported_on_shutdown() {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let h = Harness::new();
    for outcome in [
        Outcome::Ok,
        Outcome::Error {
            error_type: "E".into(),
            message: "m".into(),
        },
        Outcome::Timeout,
    ] {
        h.telemetry
            .start_invocation(Invocation::new("fn", Trigger::Timer))
            .end(outcome);
    }
    let report = h.telemetry.shutdown().await;
    assert!(report.metrics_exported, "{report:?}");
    let exported = h.metrics.get_finished_metrics().unwrap();
    let mut sums: HashMap<String, u64> = HashMap::new();
    let mut histograms: HashMap<String, u64> = HashMap::new();
    for rm in &exported {
        for sm in rm.scope_metrics() {
            for metric in sm.metrics() {
                match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                        let total = sum.data_points().map(|p| p.value()).sum();
                        sums.insert(metric.name().to_owned(), total);
                    }
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                        let count = h.data_points().map(|p| p.count()).sum();
                        histograms.insert(metric.name().to_owned(), count);
                    }
                    _ => {}
                }
            }
        }
    }
    assert_eq!(sums["faas.invocations"], 3);
    assert_eq!(sums["faas.errors"], 1);
    assert_eq!(sums["faas.timeouts"], 1);
    assert_eq!(sums["faas.coldstarts"], 1);
    assert_eq!(histograms["faas.invoke_duration"], 3);
    assert_eq!(histograms["faas.init_duration"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_share_one_cold_start() {
    let h = Harness::new();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let telemetry = h.telemetry.clone();
            tokio::spawn(async move {
                let span = telemetry.start_invocation(
                    Invocation::new("fn", Trigger::Other).with_invocation_id(i.to_string()),
                );
                tokio::task::yield_now().await;
                let cold = span.is_cold_start();
                span.end(Outcome::Ok);
                cold
            })
        })
        .collect();
    let mut cold = 0;
    for t in tasks {
        cold += usize::from(t.await.unwrap());
    }
    assert_eq!(cold, 1);
    let spans = h.finished().await;
    let flagged = spans
        .iter()
        .filter(|s| attrs(s).get("faas.coldstart") == Some(&Value::Bool(true)))
        .count();
    assert_eq!(flagged, 1);
}

#[tokio::test]
async fn the_environment_price_plan_is_used_and_overrides_are_validated() {
    let spans = InMemorySpanExporter::default();
    let build = |pairs: Vec<(&str, &str)>| {
        Telemetry::builder(TestFn::priced())
            .with_env(Env::from_pairs(pairs))
            .with_span_exporter(spans.clone())
            .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
            .install_global(false)
            .build()
    };
    let err = build(vec![("FAAS_OTEL_PRICE_GB_SECOND", "cheap")]).unwrap_err();
    assert!(
        err.to_string().contains("FAAS_OTEL_PRICE_GB_SECOND"),
        "{err}"
    );

    let telemetry = build(vec![
        ("OTEL_METRICS_EXPORTER", "none"),
        ("FAAS_OTEL_PRICE_GB_SECOND", "2.0"),
    ])
    .unwrap();
    telemetry
        .start_invocation(Invocation::new("priced", Trigger::Other))
        .end(Outcome::Ok);
    telemetry.flush(None).await;
    let finished = spans.get_finished_spans().unwrap();
    let a = attrs(finished.iter().find(|s| s.name == "priced").unwrap());
    // Billed up to 1 s, 1 GiB, at the overridden $2 per GB-second.
    assert_eq!(a["faas_otel.cost.billed_duration_ms"], Value::I64(1000));
    assert_eq!(a["faas_otel.cost.usd"], Value::F64(2.0));
}

/// The sums of the u64 counters in the last metric export.
fn counters(metrics: &InMemoryMetricExporter) -> HashMap<String, u64> {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let exported = metrics.get_finished_metrics().unwrap();
    let mut sums = HashMap::new();
    if let Some(rm) = exported.last() {
        for sm in rm.scope_metrics() {
            for metric in sm.metrics() {
                if let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() {
                    let total = sum.data_points().map(|p| p.value()).sum();
                    sums.insert(metric.name().to_owned(), total);
                }
            }
        }
    }
    sums
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_ends_a_hung_invocation_and_its_open_spans_once_as_timeouts() {
    use opentelemetry::trace::{Span as _, Tracer as _};
    let h = Harness::new();
    let mut span = h
        .telemetry
        .start_invocation(Invocation::new("orders", Trigger::Http).with_invocation_id("req-1"));
    span.watch_after(std::time::Duration::from_secs(2));
    let tracer = h.telemetry.tracer();
    let mut hung = tracer.start_with_context("GET inventory", span.context());
    let done = tracer.start_with_context("validate", span.context());
    drop(done);

    tokio::time::sleep(std::time::Duration::from_millis(1999)).await;
    assert!(!span.is_ended(), "fired early");
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    // Let the watchdog's flush finish (it runs on the paused runtime too).
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(span.is_ended());
    // Flushed by the watchdog, without a flush call of the handler.
    let spans = h.spans.get_finished_spans().unwrap();
    let names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
    let invocation = spans.iter().find(|s| s.name == "orders").unwrap();
    assert_eq!(invocation.status, Status::error("invocation timed out"));
    assert_eq!(attrs(invocation)["error.type"], Value::from("timeout"));
    let child = spans.iter().find(|s| s.name == "GET inventory").unwrap();
    assert_eq!(child.status, Status::error("the invocation timed out"));
    assert_eq!(attrs(child)["error.type"], Value::from("timeout"));
    assert_eq!(child.parent_span_id, invocation.span_context.span_id());
    assert!(child.end_time <= invocation.end_time);
    let validate = spans.iter().find(|s| s.name == "validate").unwrap();
    assert_eq!(validate.status, Status::Unset, "{names:?}");
    let counted = counters(&h.metrics);
    assert_eq!(
        counted["faas.timeouts"], 1,
        "the watchdog exports the metrics"
    );
    assert_eq!(counted["faas.invocations"], 1);

    // The handler finishes after all: nothing is recorded twice.
    hung.set_attribute(KeyValue::new("late", true));
    hung.end();
    span.end(Outcome::Ok);
    let spans = h.finished().await;
    assert_eq!(spans.len(), names.len(), "{names:?}");
    assert_eq!(spans.iter().filter(|s| s.name == "orders").count(), 1);
    assert_eq!(
        spans.iter().filter(|s| s.name == "GET inventory").count(),
        1
    );
    h.telemetry.shutdown().await;
    let counted = counters(&h.metrics);
    assert_eq!(
        (counted["faas.timeouts"], counted["faas.invocations"]),
        (1, 1)
    );
    assert!(!counted.contains_key("faas.errors"));
}

#[tokio::test(start_paused = true)]
async fn an_invocation_that_ends_in_time_disarms_its_watchdog() {
    let h = Harness::new();
    let mut span = h
        .telemetry
        .start_invocation(Invocation::new("orders", Trigger::Http));
    span.watch_after(std::time::Duration::from_secs(2));
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    span.end(Outcome::Ok);
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    let spans = h.finished().await;
    let invocation = spans.iter().find(|s| s.name == "orders").unwrap();
    assert_eq!(invocation.status, Status::Unset);
    assert!(!attrs(invocation).contains_key("error.type"));
    h.telemetry.shutdown().await;
    let counted = counters(&h.metrics);
    assert_eq!(counted["faas.invocations"], 1);
    assert!(!counted.contains_key("faas.timeouts"));
}

#[tokio::test(start_paused = true)]
async fn deadlines_in_the_past_or_implausibly_far_arm_nothing() {
    use faas_core::watchdog::WatchdogConfig;
    use std::time::{Duration, SystemTime};
    let h = Harness::new();
    let config = WatchdogConfig::for_flush_budget(Duration::from_millis(250));
    let mut span = h
        .telemetry
        .start_invocation(Invocation::new("orders", Trigger::Other));
    // Emulators send 1970; no platform runs an invocation for a year.
    span.watch_deadline(SystemTime::UNIX_EPOCH + Duration::from_millis(5), &config);
    span.watch_deadline(
        SystemTime::now() + Duration::from_secs(365 * 24 * 3600),
        &config,
    );
    tokio::time::sleep(Duration::from_secs(400 * 24 * 3600)).await;
    assert!(!span.is_ended());
    span.end(Outcome::Ok);
    let spans = h.finished().await;
    let invocation = spans.iter().find(|s| s.name == "orders").unwrap();
    assert_eq!(invocation.status, Status::Unset);
}

#[test]
fn a_caught_panic_adds_its_location_to_the_one_exception_event() {
    let h = Harness::new();
    faas_core::panic_hook::install(&h.telemetry);
    let span = h
        .telemetry
        .start_invocation(Invocation::new("orders", Trigger::Http));
    let cx = span.context().clone();
    let line = line!() + 3;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _current = cx.attach();
        panic!("card declined");
    }));
    assert!(caught.is_err());
    // Under panic = "unwind" the hook only records; the outcome ends the span.
    assert!(!span.is_ended());
    span.end(Outcome::Error {
        error_type: "panic".into(),
        message: "card declined".into(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let spans = runtime.block_on(h.finished());
    let invocation = spans.iter().find(|s| s.name == "orders").unwrap();
    assert_eq!(invocation.status, Status::error("card declined"));
    let events: Vec<_> = invocation.events.iter().collect();
    assert_eq!(events.len(), 1, "one exception event");
    let event: HashMap<_, _> = events[0]
        .attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect();
    assert_eq!(event["exception.type"], Value::from("panic"));
    assert_eq!(event["exception.message"], Value::from("card declined"));
    assert_eq!(event["code.file.path"], Value::from(file!()));
    assert_eq!(event["code.line.number"], Value::I64(i64::from(line)));
}
