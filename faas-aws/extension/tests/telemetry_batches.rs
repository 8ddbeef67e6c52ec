//! Property tests of the Telemetry API batch decoder ([`parse_batch`]) in both schema versions
//! the extension subscribes with: `2022-12-13` (Lambda's default environments) and
//! `2025-01-29` (Lambda Managed Instances: `initializationType` `lambda-managed-instances`,
//! `platform.report` metrics with `durationMs` only). Known records parse exactly; log lines
//! and unknown types are kept as `Other`; malformed records and malformed batches never panic
//! and never lose the other elements of a batch.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use faas_otel_extension::{
    InitPhase, InitStart, InitializationType, LogsDropped, OtherReason, PlatformEvent, Record,
    Report, ReportMetrics, RuntimeDone, RuntimeDoneMetrics, Start, Status, parse_batch,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// 2025-01-29T00:00:00Z.
const DAY_START: u64 = 1_738_108_800;

/// One event as Lambda sends it, with what it must parse to.
#[derive(Debug, Clone)]
struct Case {
    json: Value,
    expected: Expected,
}

// Test data, made a few hundred times per run: boxing the record would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Expected {
    Known(SystemTime, Record),
    Other(&'static str, OtherReason),
}

/// An RFC 3339 time on 2025-01-29 and the instant it names.
fn time() -> impl Strategy<Value = (String, SystemTime)> {
    (0u64..86_400, 0u64..1000).prop_map(|(s, ms)| {
        let text = format!(
            "2025-01-29T{:02}:{:02}:{:02}.{ms:03}Z",
            s / 3600,
            s / 60 % 60,
            s % 60
        );
        let at = UNIX_EPOCH + Duration::from_secs(DAY_START + s) + Duration::from_millis(ms);
        (text, at)
    })
}

fn request_id() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
}

/// A duration in ms exactly representable and printed (quarters of a ms).
fn millis() -> impl Strategy<Value = f64> {
    (0u32..40_000_000).prop_map(|q| f64::from(q) / 4.0)
}

fn status() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("success".to_owned()),
        Just("error".to_owned()),
        Just("failure".to_owned()),
        Just("timeout".to_owned()),
        "[a-z]{1,10}",
    ]
}

fn event(time: &str, event_type: &str, record: Value) -> Value {
    json!({ "time": time, "type": event_type, "record": record })
}

fn start() -> impl Strategy<Value = Case> {
    (
        time(),
        request_id(),
        proptest::option::of("\\$LATEST|[0-9]{1,3}"),
    )
        .prop_map(|((text, at), id, version)| {
            let mut record = json!({ "requestId": id });
            if let Some(v) = &version {
                record["version"] = json!(v);
            }
            Case {
                json: event(&text, "platform.start", record),
                expected: Expected::Known(
                    at,
                    Record::Start(Start {
                        request_id: id,
                        version,
                        tracing: None,
                    }),
                ),
            }
        })
}

fn runtime_done() -> impl Strategy<Value = Case> {
    (
        time(),
        request_id(),
        status(),
        proptest::option::of("[A-Z][a-z]{1,8}\\.[A-Z][a-z]{1,8}"),
        millis(),
        proptest::option::of(0u64..1 << 40),
    )
        .prop_map(
            |((text, at), id, status, error_type, duration_ms, produced)| {
                let mut metrics = json!({ "durationMs": duration_ms });
                if let Some(p) = produced {
                    metrics["producedBytes"] = json!(p);
                }
                let mut record = json!({ "requestId": id, "status": status, "metrics": metrics });
                if let Some(e) = &error_type {
                    record["errorType"] = json!(e);
                }
                Case {
                    json: event(&text, "platform.runtimeDone", record),
                    expected: Expected::Known(
                        at,
                        Record::RuntimeDone(RuntimeDone {
                            request_id: id,
                            status: Status::from(status),
                            error_type,
                            metrics: Some(RuntimeDoneMetrics {
                                duration_ms,
                                produced_bytes: produced,
                            }),
                            spans: Vec::new(),
                            tracing: None,
                        }),
                    ),
                }
            },
        )
}

/// `platform.report`: with billing (2022-12-13) or, on Lambda Managed Instances (2025-01-29),
/// `durationMs` alone.
fn report() -> impl Strategy<Value = Case> {
    (
        time(),
        request_id(),
        status(),
        millis(),
        proptest::option::of((0u64..1 << 32, 128u64..10_241, 1u64..10_241)),
        proptest::option::of(millis()),
    )
        .prop_map(|((text, at), id, status, duration_ms, billing, init_ms)| {
            let mut metrics = json!({ "durationMs": duration_ms });
            if let Some((billed, memory, used)) = billing {
                metrics["billedDurationMs"] = json!(billed);
                metrics["memorySizeMB"] = json!(memory);
                metrics["maxMemoryUsedMB"] = json!(used);
            }
            if let Some(init) = init_ms {
                metrics["initDurationMs"] = json!(init);
            }
            Case {
                json: event(
                    &text,
                    "platform.report",
                    json!({ "requestId": id, "status": status, "metrics": metrics }),
                ),
                expected: Expected::Known(
                    at,
                    Record::Report(Report {
                        request_id: id,
                        status: Status::from(status),
                        error_type: None,
                        metrics: ReportMetrics {
                            duration_ms,
                            billed_duration_ms: billing.map(|b| b.0),
                            memory_size_mb: billing.map(|b| b.1),
                            max_memory_used_mb: billing.map(|b| b.2),
                            init_duration_ms: init_ms,
                            restore_duration_ms: None,
                        },
                        spans: Vec::new(),
                        tracing: None,
                    }),
                ),
            }
        })
}

fn init_start() -> impl Strategy<Value = Case> {
    (
        time(),
        prop_oneof![
            Just("on-demand"),
            Just("provisioned-concurrency"),
            Just("snap-start"),
            Just("lambda-managed-instances"),
        ],
        prop_oneof![Just("init"), Just("invoke")],
    )
        .prop_map(|((text, at), init_type, phase)| Case {
            json: event(
                &text,
                "platform.initStart",
                json!({ "initializationType": init_type, "phase": phase }),
            ),
            expected: Expected::Known(
                at,
                Record::InitStart(InitStart {
                    initialization_type: InitializationType::from(init_type.to_owned()),
                    phase: InitPhase::from(phase.to_owned()),
                    runtime_version: None,
                    runtime_version_arn: None,
                    function_name: None,
                    function_version: None,
                    instance_id: None,
                    instance_max_memory: None,
                }),
            ),
        })
}

fn logs_dropped() -> impl Strategy<Value = Case> {
    (time(), any::<u32>(), any::<u32>()).prop_map(|((text, at), records, bytes)| Case {
        json: event(
            &text,
            "platform.logsDropped",
            json!({ "reason": "Consumer seems to have fallen behind", "droppedRecords": records, "droppedBytes": bytes }),
        ),
        expected: Expected::Known(
            at,
            Record::LogsDropped(LogsDropped {
                reason: "Consumer seems to have fallen behind".into(),
                dropped_records: u64::from(records),
                dropped_bytes: u64::from(bytes),
            }),
        ),
    })
}

/// `function` and `extension` lines, text or JSON: kept as `Other` with their record.
fn log_line() -> impl Strategy<Value = Case> {
    (
        time(),
        prop_oneof![Just("function"), Just("extension")],
        prop_oneof![
            "\\PC{0,40}".prop_map(Value::String),
            ("[A-Z]{4,5}", "\\PC{0,20}")
                .prop_map(|(level, message)| json!({ "level": level, "message": message })),
        ],
    )
        .prop_map(|((text, _), stream, record)| Case {
            json: event(&text, stream, record),
            expected: Expected::Other(stream, OtherReason::UnknownType),
        })
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        start(),
        runtime_done(),
        report(),
        init_start(),
        logs_dropped(),
        log_line(),
    ]
}

/// A known event with one field of its record broken: a `BadRecord`, never a panic.
fn broken() -> impl Strategy<Value = Case> {
    (
        prop_oneof![start(), runtime_done(), report(), logs_dropped()],
        prop_oneof![
            Just(json!(5)),
            Just(json!(null)),
            Just(json!([])),
            Just(json!("x")),
            Just(json!(-1)),
        ],
    )
        .prop_map(|(mut case, bad)| {
            let event_type = case.json["type"].as_str().unwrap().to_owned();
            let field = match event_type.as_str() {
                "platform.logsDropped" => "droppedRecords",
                "platform.runtimeDone" => "status",
                _ => "requestId",
            };
            // Values that are valid for a field are swapped for invalid ones: a string is a
            // valid status, a number a valid count.
            let bad = match (field, bad) {
                ("status", bad) if bad.is_string() => json!(1),
                ("requestId", bad) if bad.is_string() => json!(false),
                ("droppedRecords", bad) if bad.is_u64() => json!("5"),
                ("droppedRecords", bad) if bad == json!("x") => json!("many"),
                (_, bad) => bad,
            };
            case.json["record"][field] = bad;
            let name: &'static str = match event_type.as_str() {
                "platform.start" => "platform.start",
                "platform.runtimeDone" => "platform.runtimeDone",
                "platform.report" => "platform.report",
                _ => "platform.logsDropped",
            };
            case.expected = Expected::Other(name, OtherReason::BadRecord(String::new()));
            case
        })
}

fn check(event: &PlatformEvent, expected: &Expected) -> Result<(), TestCaseError> {
    match (event, expected) {
        (PlatformEvent::Known { time, record }, Expected::Known(at, want)) => {
            prop_assert_eq!(time, at);
            prop_assert_eq!(record, want);
        }
        (
            PlatformEvent::Other {
                event_type, reason, ..
            },
            Expected::Other(want_type, want_reason),
        ) => {
            prop_assert_eq!(event_type, want_type);
            match (reason, want_reason) {
                (OtherReason::BadRecord(_), OtherReason::BadRecord(_)) => {}
                (reason, want) => prop_assert_eq!(reason, want),
            }
        }
        (event, expected) => prop_assert!(false, "{event:?} is not {expected:?}"),
    }
    Ok(())
}

proptest! {
    #[test]
    fn known_records_of_both_schemas_parse_exactly(cases in proptest::collection::vec(case(), 0..12)) {
        let body = serde_json::to_vec(&cases.iter().map(|c| c.json.clone()).collect::<Vec<_>>()).unwrap();
        let events = parse_batch(&body).unwrap();
        prop_assert_eq!(events.len(), cases.len());
        for (event, case) in events.iter().zip(&cases) {
            check(event, &case.expected)?;
        }
    }

    #[test]
    fn a_malformed_record_fails_alone(
        before in proptest::collection::vec(case(), 0..4),
        bad in broken(),
        after in proptest::collection::vec(case(), 0..4),
    ) {
        let all: Vec<Case> = before.into_iter().chain([bad]).chain(after).collect();
        let body = serde_json::to_vec(&all.iter().map(|c| c.json.clone()).collect::<Vec<_>>()).unwrap();
        let events = parse_batch(&body).unwrap();
        prop_assert_eq!(events.len(), all.len());
        for (event, case) in events.iter().zip(&all) {
            check(event, &case.expected)?;
        }
    }

    #[test]
    fn malformed_batches_never_panic(
        cases in proptest::collection::vec(case(), 1..6),
        cut in any::<proptest::sample::Index>(),
        noise in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let body = serde_json::to_vec(&cases.iter().map(|c| c.json.clone()).collect::<Vec<_>>()).unwrap();
        // Truncated: never a panic, and a batch cut short is an error, not a shorter batch.
        let at = cut.index(body.len());
        prop_assert!(parse_batch(&body[..at]).is_err());
        // Noise spliced in: anything but a panic.
        let mut spliced = body[..at].to_vec();
        spliced.extend(&noise);
        spliced.extend(&body[at..]);
        let _ = parse_batch(&spliced);
        // Not an array of events at all.
        prop_assert!(parse_batch(&serde_json::to_vec(&cases[0].json).unwrap()).is_err());
    }
}
