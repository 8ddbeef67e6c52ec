//! Platform events (the documented Telemetry API shapes, in `tests/fixtures/telemetry/`) turned
//! into spans and metrics, joined to the function's own spans.
#![allow(clippy::unwrap_used)]

mod fixtures;

use faas_core::cost::Architecture;
use faas_core::env::Env;
use faas_otel_extension::{
    INIT_JOIN_EVENT_LIMIT, INIT_SPAN_NAME, INVOKE_SPAN_NAME, InvocationOutcome, PlatformTelemetry,
    SCOPE_NAME,
};
use faas_otel_extension::{OtherReason, PlatformEvent, parse_batch};
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Metric, metric};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span, status};
use opentelemetry_sdk::trace::IdGenerator;
use std::sync::atomic::{AtomicU64, Ordering};

use fixtures::{
    REQ_ERROR, REQ_TIMEOUT, T_TIMEOUT, assert_error_invoke, cost_in, fixture_bytes,
    invoke_attributes, on_demand_init_attributes, proto,
};

/// 2022-10-12T00:00:00Z in nanoseconds: the day of the fixtures.
const DAY_NS: u64 = 1_665_532_800 * 1_000_000_000;
const MIB: i64 = 1_048_576;

const REQ_OK: &str = "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa";

/// The function's trace of the first (cold) invocation, under an API Gateway parent.
const T1: u128 = 0x5759_e988_bd86_2e3f_e1be_46a9_9427_2793;
const S1: u64 = 0x1111_0000_0000_0001;
const P1: u64 = 0x5399_5c3f_42cd_8ad8;
/// The function's trace of the timed-out invocation, a root.
const T2: u128 = T_TIMEOUT;
const S2: u64 = 0x2222_0000_0000_0002;

/// Ids in sequence: trace ids `0xa...01, 02, ...`, span ids `0xb...01, 02, ...`.
#[derive(Debug, Default)]
struct SequentialIds {
    traces: AtomicU64,
    spans: AtomicU64,
}

const GENERATED_TRACE: u128 = 0xa000_0000_0000_0000_0000_0000_0000_0000;
const GENERATED_SPAN: u64 = 0xb000_0000_0000_0000;

impl IdGenerator for SequentialIds {
    fn new_trace_id(&self) -> TraceId {
        TraceId::from(GENERATED_TRACE + u128::from(self.traces.fetch_add(1, Ordering::SeqCst) + 1))
    }
    fn new_span_id(&self) -> SpanId {
        SpanId::from(GENERATED_SPAN + self.spans.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

fn fixture(name: &str) -> Vec<PlatformEvent> {
    parse_batch(&fixture_bytes(name)).unwrap()
}

fn lambda_env() -> Env {
    Env::from_pairs([
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_REGION", "us-east-1"),
        ("OTEL_RESOURCE_ATTRIBUTES", "team=payments"),
        ("FAAS_OTEL_PRICE_REQUEST", "0.0000004"),
    ])
}

fn new_telemetry() -> PlatformTelemetry {
    PlatformTelemetry::from_env(&lambda_env())
        .unwrap()
        .with_id_generator(Box::new(SequentialIds::default()))
}

/// A span of the function.
fn function_span(trace: u128, id: u64, parent: Option<u64>, attrs: Vec<KeyValue>) -> Span {
    Span {
        trace_id: trace.to_be_bytes().to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
        name: "orders".into(),
        kind: span::SpanKind::Server as i32,
        attributes: proto(attrs),
        ..Span::default()
    }
}

fn function_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// The function's spans of the cold invocation (with a child) and of the timed-out one.
fn function_spans() -> ExportTraceServiceRequest {
    function_request(vec![
        function_span(T1, 0x1111_0000_0000_0009, Some(S1), vec![]),
        function_span(
            T1,
            S1,
            Some(P1),
            vec![
                KeyValue::new("faas.trigger", "http"),
                KeyValue::new("faas.invocation_id", REQ_OK),
                KeyValue::new("faas.coldstart", true),
            ],
        ),
        function_span(
            T2,
            S2,
            None,
            vec![KeyValue::new("faas.invocation_id", REQ_TIMEOUT)],
        ),
    ])
}

fn spans_of(request: &ExportTraceServiceRequest) -> Vec<Span> {
    assert_eq!(request.resource_spans.len(), 1);
    let scopes = &request.resource_spans[0].scope_spans;
    assert_eq!(scopes.len(), 1);
    assert_eq!(scopes[0].scope.as_ref().unwrap().name, SCOPE_NAME);
    scopes[0].spans.clone()
}

/// The cost attributes faas-core's model gives for `billed_ms` at `memory_mb`, with the price
/// plan and overrides the function uses.
fn cost(billed_ms: u64, memory_mb: u64) -> Vec<KeyValue> {
    cost_in(&lambda_env(), billed_ms, memory_mb)
}

fn ns(offset_ms: f64) -> u64 {
    DAY_NS + (offset_ms * 1e6).round() as u64
}

fn trace(id: u128) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

fn span_id(id: u64) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

#[test]
fn fixtures_parse_into_the_documented_types() {
    let init = fixture("init-on-demand");
    let types: Vec<&str> = init.iter().map(PlatformEvent::event_type).collect();
    assert_eq!(
        types,
        [
            "platform.initStart",
            "platform.telemetrySubscription",
            "platform.extension",
            "platform.initRuntimeDone",
            "platform.initReport"
        ]
    );
    for name in ["invoke-success", "invoke-timeout", "invoke-error"] {
        let events = fixture(name);
        let types: Vec<&str> = events.iter().map(PlatformEvent::event_type).collect();
        assert_eq!(
            types,
            ["platform.start", "platform.runtimeDone", "platform.report"]
        );
        assert!(events[1].runtime_done_request_id().is_some(), "{name}");
    }
    let unknown = fixture("unknown-type");
    assert!(unknown.iter().all(|e| matches!(
        e,
        PlatformEvent::Other {
            reason: OtherReason::UnknownType,
            ..
        }
    )));
    let malformed = fixture("malformed-record");
    assert!(matches!(
        &malformed[0],
        PlatformEvent::Other { event_type, reason: OtherReason::BadRecord(_), .. } if event_type == "platform.report"
    ));
    assert!(matches!(
        &malformed[1],
        PlatformEvent::Other {
            time: None,
            reason: OtherReason::BadTime,
            ..
        }
    ));
    assert!(matches!(
        &malformed[2],
        PlatformEvent::Other { reason: OtherReason::BadRecord(why), .. } if why.contains("status")
    ));
    // The batch goes on after odd events.
    assert_eq!(
        malformed[3].request_id(),
        Some("f0000000-0000-4000-8000-000000000001")
    );
}

#[test]
fn init_and_invocations_become_spans_joined_to_the_function_traces() {
    let mut telemetry = new_telemetry();
    telemetry.on_events(&fixture("init-on-demand"));
    // Initialization is held until its invocation's trace is known.
    assert!(telemetry.take_spans().is_none());
    telemetry.observe_traces(&function_spans());
    assert!(telemetry.take_spans().is_none());
    telemetry.on_events(&fixture("invoke-success"));
    telemetry.on_events(&fixture("invoke-timeout"));
    telemetry.on_events(&fixture("invoke-error"));
    telemetry.on_events(&fixture("unknown-type"));
    telemetry.on_events(&fixture("malformed-record"));

    let request = telemetry.take_spans().unwrap();
    assert!(telemetry.take_spans().is_none());
    let resource = request.resource_spans[0].resource.as_ref().unwrap();
    let resource_value = |key: &str| {
        resource
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone())
    };
    for (key, value) in [
        ("service.name", "orders"),
        ("faas.name", "orders"),
        ("cloud.provider", "aws"),
        ("cloud.region", "us-east-1"),
        ("team", "payments"),
    ] {
        assert_eq!(
            resource_value(key),
            Some(opentelemetry::Value::from(value).into()),
            "{key}"
        );
    }

    let spans = spans_of(&request);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            INIT_SPAN_NAME,
            INVOKE_SPAN_NAME,
            INVOKE_SPAN_NAME,
            INVOKE_SPAN_NAME
        ]
    );
    assert!(
        spans
            .iter()
            .all(|s| s.kind == span::SpanKind::Internal as i32)
    );

    // Where each span sits: trace, parent, id, and start and end (ms into the day).
    let placed = |s: &Span, trace_id: Vec<u8>, parent: Option<u64>, n: u64, (start, end)| {
        assert_eq!(s.trace_id, trace_id, "{}", s.name);
        assert_eq!(s.parent_span_id, parent.map(span_id).unwrap_or_default());
        assert_eq!(s.span_id, span_id(GENERATED_SPAN + n));
        assert_eq!(s.start_time_unix_nano, ns(start));
        assert_eq!(s.end_time_unix_nano, ns(end));
    };

    // platform init: sibling of the cold invocation's span, initStart + 125.33 ms.
    let init = &spans[0];
    placed(init, trace(T1), Some(P1), 1, (15_064.0, 15_064.0 + 125.33));
    assert_eq!(init.attributes, on_demand_init_attributes());
    let ok = init.status.as_ref().unwrap();
    assert_eq!(ok.code, status::StatusCode::Ok as i32);

    // platform invoke, success: sibling of the invocation span, platform.start + durationMs.
    let success = &spans[1];
    placed(
        success,
        trace(T1),
        Some(P1),
        2,
        (15_200.0, 15_200.0 + 172.41),
    );
    let expected = invoke_attributes(
        REQ_OK,
        (128, 31),
        cost(173, 128),
        KeyValue::new("faas.coldstart", true),
    );
    assert_eq!(success.attributes, expected);
    assert_eq!(
        success.status.as_ref().unwrap().code,
        status::StatusCode::Ok as i32
    );

    // platform invoke, timeout: the invocation span is a root, so this one is too.
    let timeout = &spans[2];
    placed(timeout, trace(T2), None, 3, (60_000.0, 63_000.0));
    assert_error_invoke(timeout, "invoke-timeout", cost);

    // platform invoke, error, never seen in the function's spans: a root in a new trace.
    let error = &spans[3];
    let new_trace = GENERATED_TRACE.wrapping_add(1).to_be_bytes().to_vec();
    placed(error, new_trace, None, 4, (120_000.0, 120_000.0 + 45.6));
    assert_error_invoke(error, "invoke-error", cost);

    assert_eq!(telemetry.outcome(REQ_OK), Some(InvocationOutcome::Success));
    assert_eq!(
        telemetry.outcome(REQ_TIMEOUT),
        Some(InvocationOutcome::Timeout)
    );
    assert_eq!(telemetry.outcome(REQ_ERROR), Some(InvocationOutcome::Error));
    assert_eq!(
        telemetry.outcome("a0000000-0000-4000-8000-000000000bad"),
        None
    );
    let context = telemetry.invocation(REQ_OK).unwrap();
    assert_eq!(context.span_id, S1.to_be_bytes());
    assert_eq!(context.coldstart, Some(true));
}

#[test]
fn cost_uses_the_overridden_plan_and_the_real_billed_duration() {
    // The billed duration on the span is Lambda's, and the estimate is priced from it:
    // 173 ms × 0.125 GB × $0.0000166667 (x86_64) + the overridden $0.0000004 per request.
    let attrs = cost(173, 128);
    let get = |key: &str| {
        attrs
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
            .unwrap()
    };
    assert_eq!(
        get("faas_otel.cost.billed_duration_ms"),
        opentelemetry::Value::I64(173)
    );
    assert_eq!(
        get("faas_otel.cost.request_usd"),
        opentelemetry::Value::F64(0.0000004)
    );
    let expected_compute = match Architecture::current() {
        Architecture::Arm64 => 0.173 * 0.125 * faas_aws::pricing::LAMBDA_ARM64_GB_SECOND_USD,
        _ => 0.173 * 0.125 * faas_aws::pricing::LAMBDA_X86_64_GB_SECOND_USD,
    };
    let opentelemetry::Value::F64(compute) = get("faas_otel.cost.compute_usd") else {
        panic!("not a float")
    };
    assert!((compute - expected_compute).abs() < 1e-18, "{compute}");
}

fn metric<'a>(metrics: &'a [Metric], name: &str) -> &'a Metric {
    metrics.iter().find(|m| m.name == name).unwrap()
}

#[test]
fn metrics_follow_the_faas_conventions() {
    let mut telemetry = new_telemetry();
    assert!(telemetry.take_metrics().is_none());
    for name in [
        "init-on-demand",
        "invoke-success",
        "invoke-timeout",
        "invoke-error",
        "unknown-type",
        "malformed-record",
    ] {
        telemetry.on_events(&fixture(name));
    }
    let request = telemetry.take_metrics().unwrap();
    assert!(telemetry.take_metrics().is_none());
    assert_eq!(request.resource_metrics.len(), 1);
    let scope_metrics = &request.resource_metrics[0].scope_metrics;
    assert_eq!(scope_metrics[0].scope.as_ref().unwrap().name, SCOPE_NAME);
    let metrics = &scope_metrics[0].metrics;
    let names: Vec<(&str, &str)> = metrics
        .iter()
        .map(|m| (m.name.as_str(), m.unit.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("faas.invoke_duration", "s"),
            ("faas.init_duration", "s"),
            ("faas.mem_usage", "By"),
            ("faas.errors", "{error}"),
            ("faas.timeouts", "{timeout}"),
            ("faas.coldstarts", "{coldstart}"),
        ]
    );
    // From the initReport (the first event recorded) to the last report.
    let (start, end) = (ns(15_190.0), ns(120_050.0));

    let histogram = |name: &str| {
        let Some(metric::Data::Histogram(h)) = &metric(metrics, name).data else {
            panic!("{name} is not a histogram")
        };
        assert_eq!(
            h.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        assert_eq!(h.data_points.len(), 1);
        let point = h.data_points[0].clone();
        assert!(point.attributes.is_empty());
        assert_eq!(
            (point.start_time_unix_nano, point.time_unix_nano),
            (start, end)
        );
        point
    };
    let buckets = |ones: &[usize], len: usize| {
        let mut counts = vec![0u64; len];
        for i in ones {
            counts[*i] += 1;
        }
        counts
    };

    let invoke = histogram("faas.invoke_duration");
    assert_eq!(invoke.count, 3);
    assert_eq!(invoke.sum, Some(0.17241 + 3.0 + 0.0456));
    assert_eq!((invoke.min, invoke.max), (Some(0.0456), Some(3.0)));
    // Bounds 0.005, 0.01, 0.025, 0.05 (0.0456), 0.075, 0.1, 0.25 (0.17241), ..., 5 (3.0), ...
    assert_eq!(invoke.explicit_bounds.len(), 18);
    assert_eq!(invoke.bucket_counts, buckets(&[3, 6, 11], 19));

    let init = histogram("faas.init_duration");
    assert_eq!(init.count, 1);
    assert_eq!(init.sum, Some(0.12533));
    assert_eq!(init.bucket_counts, buckets(&[6], 19));

    let memory = histogram("faas.mem_usage");
    assert_eq!(memory.count, 3);
    assert_eq!(memory.sum, Some(((31 + 64 + 87) * MIB) as f64));
    // 31 MiB and 64 MiB are at most 64 MiB (upper-inclusive), 87 MiB at most 128 MiB.
    assert_eq!(memory.bucket_counts, buckets(&[0, 0, 1], 10));
    assert_eq!(
        (memory.min, memory.max),
        (Some((31 * MIB) as f64), Some((87 * MIB) as f64))
    );

    for (name, value) in [
        ("faas.errors", 1),
        ("faas.timeouts", 1),
        ("faas.coldstarts", 1),
    ] {
        let Some(metric::Data::Sum(sum)) = &metric(metrics, name).data else {
            panic!("{name} is not a sum")
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        let point = &sum.data_points[0];
        assert_eq!(point.value, Some(NumberValue::AsInt(value)), "{name}");
        assert_eq!(
            (point.start_time_unix_nano, point.time_unix_nano),
            (start, end)
        );
    }

    // The next window starts where this one ended.
    telemetry.on_events(&fixture("invoke-success"));
    let next = telemetry.take_metrics().unwrap();
    let Some(metric::Data::Sum(errors)) = &metric(
        &next.resource_metrics[0].scope_metrics[0].metrics,
        "faas.errors",
    )
    .data
    else {
        panic!("no errors")
    };
    assert_eq!(errors.data_points[0].start_time_unix_nano, end);
    assert_eq!(errors.data_points[0].value, Some(NumberValue::AsInt(0)));
}

#[test]
fn init_without_a_function_trace_joins_the_new_trace_of_its_invocation() {
    let mut telemetry = new_telemetry();
    telemetry.on_events(&fixture("init-on-demand"));
    telemetry.on_events(&fixture("invoke-success"));
    let spans = spans_of(&telemetry.take_spans().unwrap());
    assert_eq!(spans.len(), 2);
    let (init, invoke) = (&spans[0], &spans[1]);
    assert_eq!(init.name, INIT_SPAN_NAME);
    assert_eq!(invoke.name, INVOKE_SPAN_NAME);
    assert_eq!(init.trace_id, GENERATED_TRACE.wrapping_add(1).to_be_bytes());
    assert_eq!(invoke.trace_id, init.trace_id);
    assert!(init.parent_span_id.is_empty());
    assert!(invoke.parent_span_id.is_empty());
    assert_ne!(init.span_id, invoke.span_id);
}

#[test]
fn init_is_released_after_the_event_limit_or_at_finish() {
    // The invocation it should join started, but neither its trace nor its report arrives.
    let mut telemetry = new_telemetry();
    telemetry.on_events(&fixture("init-on-demand"));
    let start = fixture("invoke-success").remove(0);
    telemetry.on_events(std::slice::from_ref(&start));
    let filler = fixture("init-on-demand").remove(2);
    let batch = vec![filler; INIT_JOIN_EVENT_LIMIT as usize - 1];
    telemetry.on_events(&batch);
    assert!(telemetry.take_spans().is_none());
    telemetry.on_events(&fixture("unknown-type")[..1]);
    let spans = spans_of(&telemetry.take_spans().unwrap());
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, INIT_SPAN_NAME);
    assert_eq!(
        spans[0].trace_id,
        GENERATED_TRACE.wrapping_add(1).to_be_bytes()
    );
    assert!(spans[0].parent_span_id.is_empty());

    // At shutdown, with no invocation at all.
    let mut telemetry = new_telemetry();
    telemetry.on_events(&fixture("init-on-demand"));
    assert!(telemetry.take_spans().is_none());
    telemetry.finish();
    let spans = spans_of(&telemetry.take_spans().unwrap());
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, INIT_SPAN_NAME);
    telemetry.finish();
    assert!(telemetry.take_spans().is_none());
}

#[test]
fn a_failed_init_is_an_error_span_and_later_spans_of_the_invocation_still_join() {
    let events = parse_batch(
        br#"[
      {"time":"2022-10-12T00:00:15.000Z","type":"platform.initStart","record":{"initializationType":"provisioned-concurrency","phase":"init"}},
      {"time":"2022-10-12T00:00:25.000Z","type":"platform.initReport","record":{"initializationType":"provisioned-concurrency","phase":"init","status":"timeout","errorType":"Runtime.InitTimeout","metrics":{"durationMs":10000.0}}},
      {"time":"2022-10-12T00:05:00.000Z","type":"platform.start","record":{"requestId":"late"}}
    ]"#,
    )
    .unwrap();
    let mut telemetry = new_telemetry();
    telemetry.on_events(&events);
    assert!(telemetry.take_spans().is_none());
    // The function's spans arrive after platform.start was processed.
    telemetry.observe_traces(&function_request(vec![function_span(
        T2,
        S2,
        Some(P1),
        vec![KeyValue::new("faas.invocation_id", "late")],
    )]));
    let spans = spans_of(&telemetry.take_spans().unwrap());
    assert_eq!(spans.len(), 1);
    let init = &spans[0];
    assert_eq!(init.trace_id, trace(T2));
    assert_eq!(init.parent_span_id, span_id(P1));
    assert_eq!(init.start_time_unix_nano, ns(15_000.0));
    assert_eq!(init.end_time_unix_nano, ns(25_000.0));
    assert_eq!(
        init.attributes,
        proto(vec![
            KeyValue::new("faas_otel.init.type", "provisioned-concurrency"),
            KeyValue::new("faas_otel.init.phase", "init"),
            KeyValue::new("faas_otel.init.duration_s", 10.0),
            KeyValue::new("faas.coldstart", true),
            KeyValue::new("error.type", "timeout"),
        ])
    );
    let status = init.status.as_ref().unwrap();
    assert_eq!(status.code, status::StatusCode::Error as i32);
    assert_eq!(status.message, "Runtime.InitTimeout");
}

#[test]
fn the_invocation_span_is_preferred_over_children_carrying_the_same_id() {
    let mut telemetry = new_telemetry();
    let id = vec![KeyValue::new("faas.invocation_id", REQ_OK)];
    telemetry.observe_traces(&function_request(vec![
        // A child carrying the id arrives first, then its parent, the invocation span.
        function_span(T1, 0x99, Some(S1), id.clone()),
        function_span(T1, S1, Some(P1), id.clone()),
        // Unrelated spans with the same id and malformed ids are ignored.
        function_span(T2, S2, None, id.clone()),
        Span {
            trace_id: vec![1, 2, 3],
            ..function_span(T2, 0x77, None, id)
        },
    ]));
    let context = telemetry.invocation(REQ_OK).unwrap();
    assert_eq!(context.trace_id, T1.to_be_bytes());
    assert_eq!(context.span_id, S1.to_be_bytes());
    assert_eq!(context.parent_span_id, Some(P1.to_be_bytes()));
    assert_eq!(context.coldstart, None);
}

#[test]
fn bad_configuration_names_the_variable() {
    let err = PlatformTelemetry::from_env(&Env::from_pairs([
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
        ("FAAS_OTEL_PRICE_GB_SECOND", "-1"),
    ]))
    .unwrap_err();
    assert_eq!(err.variable, "FAAS_OTEL_PRICE_GB_SECOND");
    let err = PlatformTelemetry::from_env(&Env::from_pairs([
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
    ]))
    .unwrap_err();
    assert_eq!(err.variable, "OTEL_TRACES_SAMPLER");
}

/// Lambda Managed Instances (schema 2025-01-29): two invocations at once, reports with the
/// duration alone. The `platform invoke` spans have no memory or cost attributes (LMI bills EC2
/// capacity, not invocations), and the metrics no `faas.mem_usage`.
#[test]
fn managed_instances_reports_become_spans_and_metrics_without_billing() {
    const REQ_A: &str = "a1a1a1a1-0000-4000-8000-0000000000a1";
    const REQ_B: &str = "b2b2b2b2-0000-4000-8000-0000000000b2";
    const TA: u128 = 0xa1a1_0000_0000_0000_0000_0000_0000_00a1;
    const SA: u64 = 0xa1a1_0000_0000_0001;
    let events = fixture("invoke-managed-instances");
    assert!(
        events
            .iter()
            .all(|e| matches!(e, PlatformEvent::Known { .. })),
        "{events:?}"
    );
    let PlatformEvent::Known {
        record: faas_otel_extension::Record::Report(report),
        ..
    } = &events[7]
    else {
        panic!("{:?}", events[7])
    };
    assert_eq!(
        report.metrics,
        faas_otel_extension::ReportMetrics {
            duration_ms: 3.25,
            billed_duration_ms: None,
            memory_size_mb: None,
            max_memory_used_mb: None,
            init_duration_ms: None,
            restore_duration_ms: None,
        }
    );

    let mut telemetry = new_telemetry();
    // Only A's function sent its invocation span.
    telemetry.observe_traces(&function_request(vec![function_span(
        TA,
        SA,
        None,
        vec![KeyValue::new("faas.invocation_id", REQ_A)],
    )]));
    telemetry.on_events(&events);
    let spans = spans_of(&telemetry.take_spans().unwrap());
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [INIT_SPAN_NAME, INVOKE_SPAN_NAME, INVOKE_SPAN_NAME]);
    let (init, a, b) = (&spans[0], &spans[1], &spans[2]);

    // The init joins the first invocation's trace, a sibling of its span.
    assert_eq!(init.trace_id, trace(TA));
    assert!(init.parent_span_id.is_empty());
    assert_eq!(
        init.attributes,
        proto(vec![
            KeyValue::new("faas_otel.init.type", "lambda-managed-instances"),
            KeyValue::new("faas_otel.init.phase", "init"),
            KeyValue::new("faas_otel.init.duration_s", 0.08),
            KeyValue::new("faas.coldstart", true),
        ])
    );
    assert_eq!(
        (init.start_time_unix_nano, init.end_time_unix_nano),
        (ns(10_000.0), ns(10_080.0))
    );

    assert_eq!(a.trace_id, trace(TA));
    assert!(a.parent_span_id.is_empty());
    assert_eq!(
        a.attributes,
        proto(vec![KeyValue::new("faas.invocation_id", REQ_A)])
    );
    assert_eq!(
        (a.start_time_unix_nano, a.end_time_unix_nano),
        (ns(20_000.0), ns(20_012.5))
    );
    assert_eq!(
        a.status.as_ref().unwrap().code,
        status::StatusCode::Ok as i32
    );

    // B's function sent nothing: a trace of its own.
    assert_eq!(b.trace_id, trace(GENERATED_TRACE + 1));
    assert_eq!(
        b.attributes,
        proto(vec![
            KeyValue::new("faas.invocation_id", REQ_B),
            KeyValue::new("error.type", "Handled"),
        ])
    );
    assert_eq!(
        (b.start_time_unix_nano, b.end_time_unix_nano),
        (ns(20_001.0), ns(20_004.25))
    );
    assert_eq!(
        b.status.as_ref().unwrap().code,
        status::StatusCode::Error as i32
    );
    assert_eq!(telemetry.outcome(REQ_B), Some(InvocationOutcome::Error));

    let metrics = telemetry.take_metrics().unwrap().resource_metrics[0].scope_metrics[0]
        .metrics
        .clone();
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "faas.invoke_duration",
            "faas.init_duration",
            "faas.errors",
            "faas.timeouts",
            "faas.coldstarts",
        ]
    );
    let Some(metric::Data::Histogram(invoke)) = &metric(&metrics, "faas.invoke_duration").data
    else {
        panic!()
    };
    assert_eq!(invoke.data_points[0].count, 2);
    assert_eq!(invoke.data_points[0].sum, Some(0.0125 + 0.00325));
    let Some(metric::Data::Sum(errors)) = &metric(&metrics, "faas.errors").data else {
        panic!()
    };
    assert_eq!(errors.data_points[0].value, Some(NumberValue::AsInt(1)));
}
