//! [`PlatformEvent`] and [`parse_batch`]: one Telemetry API batch, typed, never failing the whole
//! batch because of one odd event.

use std::time::SystemTime;

use serde_json::Value;

use super::record::Record;
use super::rfc3339::parse_rfc3339;

/// One event of a Telemetry API batch.
#[derive(Debug, Clone, PartialEq)]
pub enum PlatformEvent {
    /// A platform event of a type [`Record`] knows, with a record that fits it.
    Known {
        /// When the event happened.
        time: SystemTime,
        /// The record (never [`Record::Unknown`]).
        record: Record,
    },
    /// Any other event: an unknown `type` (including `function` and `extension` log lines) or
    /// an event that does not fit the schema.
    Other {
        /// The event's time, when it could be read.
        time: Option<SystemTime>,
        /// The event's `type` (empty when missing).
        event_type: String,
        /// The event's `record` as received (`null` when missing).
        record: Value,
        /// Why the event was not typed.
        reason: OtherReason,
    },
}

/// Why an event became [`PlatformEvent::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherReason {
    /// The `type` is not a platform event [`Record`] knows.
    UnknownType,
    /// The event is not a JSON object, or has no string `type`.
    NotAnEvent,
    /// `time` is missing or not an RFC 3339 timestamp.
    BadTime,
    /// The `record` does not fit the schema of its type; the text says why.
    BadRecord(String),
}

/// Parses a Telemetry API batch (the body of its POST).
///
/// Fails only when `body` is not a JSON array; every element becomes one [`PlatformEvent`],
/// the ones that cannot be typed [`PlatformEvent::Other`].
pub fn parse_batch(body: &[u8]) -> Result<Vec<PlatformEvent>, serde_json::Error> {
    let values: Vec<Value> = serde_json::from_slice(body)?;
    Ok(values.into_iter().map(PlatformEvent::from_json).collect())
}

impl PlatformEvent {
    /// Types one event of a batch; never fails (see [`PlatformEvent::Other`]).
    pub fn from_json(value: Value) -> Self {
        let Value::Object(mut object) = value else {
            return Self::other(None, String::new(), Value::Null, OtherReason::NotAnEvent);
        };
        let record = object.remove("record").unwrap_or(Value::Null);
        let time = object
            .get("time")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339);
        let Some(Value::String(event_type)) = object.remove("type") else {
            return Self::other(time, String::new(), record, OtherReason::NotAnEvent);
        };
        if !Record::is_known(&event_type) {
            return Self::other(time, event_type, record, OtherReason::UnknownType);
        }
        let Some(time) = time else {
            return Self::other(None, event_type, record, OtherReason::BadTime);
        };
        match Record::typed(&event_type, &record) {
            None => Self::other(Some(time), event_type, record, OtherReason::UnknownType),
            Some(Ok(typed)) => Self::Known {
                time,
                record: typed,
            },
            Some(Err(error)) => Self::other(
                Some(time),
                event_type,
                record,
                OtherReason::BadRecord(error.to_string()),
            ),
        }
    }

    fn other(
        time: Option<SystemTime>,
        event_type: String,
        record: Value,
        reason: OtherReason,
    ) -> Self {
        Self::Other {
            time,
            event_type,
            record,
            reason,
        }
    }

    /// The event's time (`None` only for an [`Other`](Self::Other) event without a valid
    /// one).
    pub fn time(&self) -> Option<SystemTime> {
        match self {
            Self::Known { time, .. } => Some(*time),
            Self::Other { time, .. } => *time,
        }
    }

    /// The event's `type`, e.g. `platform.report`.
    pub fn event_type(&self) -> &str {
        match self {
            Self::Known { record, .. } => record.event_type().unwrap_or_default(),
            Self::Other { event_type, .. } => event_type,
        }
    }

    /// The request id of `platform.start`, `platform.runtimeDone` and `platform.report`.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Known { record, .. } => record.request_id(),
            Self::Other { .. } => None,
        }
    }

    /// The request id when this is `platform.runtimeDone`: the invocation whose response (or
    /// failure) the runtime has finished, so its spans have been sent.
    pub fn runtime_done_request_id(&self) -> Option<&str> {
        match self {
            Self::Known {
                record: Record::RuntimeDone(record),
                ..
            } => Some(&record.request_id),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::platform_events::init_records::InitStart;
    use crate::platform_events::values::{InitPhase, InitializationType, Status};
    use std::time::{Duration, UNIX_EPOCH};

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn one(json: &str) -> PlatformEvent {
        let mut events = parse_batch(format!("[{json}]").as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn not_an_array_is_the_only_error() {
        assert!(parse_batch(b"{}").is_err());
        assert!(parse_batch(b"not json").is_err());
        assert!(
            parse_batch(b"[1, \"x\", null]")
                .unwrap()
                .iter()
                .all(|e| matches!(
                    e,
                    PlatformEvent::Other {
                        reason: OtherReason::NotAnEvent,
                        ..
                    }
                ))
        );
        assert_eq!(parse_batch(b"[]").unwrap(), vec![]);
    }

    #[test]
    fn init_start_with_every_field() {
        let event = one(
            r#"{"time":"2022-10-12T00:00:15.064Z","type":"platform.initStart","record":{
                "initializationType":"on-demand","phase":"init","runtimeVersion":"provided:al2023.v45",
                "runtimeVersionArn":"arn:aws:lambda:us-east-1::runtime:abc","functionName":"orders",
                "functionVersion":"$LATEST","instanceId":"i-1","instanceMaxMemory":128,"extra":1}}"#,
        );
        assert_eq!(
            event,
            PlatformEvent::Known {
                time: at(1_665_532_815_064),
                record: Record::InitStart(InitStart {
                    initialization_type: InitializationType::OnDemand,
                    phase: InitPhase::Init,
                    runtime_version: Some("provided:al2023.v45".into()),
                    runtime_version_arn: Some("arn:aws:lambda:us-east-1::runtime:abc".into()),
                    function_name: Some("orders".into()),
                    function_version: Some("$LATEST".into()),
                    instance_id: Some("i-1".into()),
                    instance_max_memory: Some(128),
                }),
            }
        );
        assert_eq!(event.event_type(), "platform.initStart");
        assert_eq!(event.request_id(), None);
    }

    #[test]
    fn report_metrics_and_lenient_parts() {
        let event = one(
            r#"{"time":"2022-10-21T14:05:05.766Z","type":"platform.report","record":{
                "requestId":"r1","metrics":{"durationMs":2599.4,"billedDurationMs":2600,
                "memorySizeMB":128,"maxMemoryUsedMB":94.0,"initDurationMs":549.04},
                "spans":[{"name":"bad"},{"name":"ok","start":"2022-10-21T14:05:03.165Z","durationMs":1.5}],
                "tracing":{"type":1}}}"#,
        );
        let PlatformEvent::Known {
            record: Record::Report(record),
            ..
        } = &event
        else {
            panic!("{event:?}")
        };
        assert_eq!(
            record.status,
            Status::Success,
            "absent status reads as success"
        );
        assert_eq!(record.metrics.billed_duration_ms, Some(2600));
        assert_eq!(record.metrics.max_memory_used_mb, Some(94));
        assert_eq!(record.metrics.init_duration_ms, Some(549.04));
        assert_eq!(record.metrics.restore_duration_ms, None);
        assert_eq!(record.spans.len(), 1);
        assert_eq!(record.spans[0].start, at(1_666_361_103_165));
        assert_eq!(record.tracing, None);
        assert_eq!(event.request_id(), Some("r1"));
        assert_eq!(event.runtime_done_request_id(), None);
    }

    #[test]
    fn runtime_done_request_id_only_for_runtime_done() {
        let done = one(
            r#"{"time":"2022-10-21T14:05:05.764Z","type":"platform.runtimeDone","record":{
                "requestId":"r2","status":"failure","errorType":"Runtime.ExitError",
                "metrics":{"durationMs":12.5,"producedBytes":0},
                "tracing":{"spanId":"24cd7d670fa455f0","type":"X-Amzn-Trace-Id","value":"Root=1-a;Sampled=1"}}}"#,
        );
        assert_eq!(done.runtime_done_request_id(), Some("r2"));
        let PlatformEvent::Known {
            record: Record::RuntimeDone(record),
            ..
        } = &done
        else {
            panic!("{done:?}")
        };
        assert_eq!(record.status, Status::Failure);
        assert_eq!(record.error_type.as_deref(), Some("Runtime.ExitError"));
        assert_eq!(
            record.tracing.as_ref().map(|t| t.kind.as_str()),
            Some("X-Amzn-Trace-Id")
        );
        let start = one(
            r#"{"time":"2022-10-21T14:05:03.165Z","type":"platform.start","record":{"requestId":"r2"}}"#,
        );
        assert_eq!(start.runtime_done_request_id(), None);
        assert_eq!(start.request_id(), Some("r2"));
    }

    #[test]
    fn odd_events_become_other_with_the_reason() {
        let cases = [
            (
                r#"{"time":"2022-10-21T14:05:03Z","type":"platform.future","record":{"a":1}}"#,
                OtherReason::UnknownType,
            ),
            (
                r#"{"time":"2022-10-21T14:05:03Z","type":"function","record":"hello"}"#,
                OtherReason::UnknownType,
            ),
            (
                r#"{"time":"yesterday","type":"platform.start","record":{"requestId":"r"}}"#,
                OtherReason::BadTime,
            ),
            (
                r#"{"type":"platform.start","record":{"requestId":"r"}}"#,
                OtherReason::BadTime,
            ),
            (
                r#"{"time":"2022-10-21T14:05:03Z","record":{}}"#,
                OtherReason::NotAnEvent,
            ),
        ];
        for (json, expected) in cases {
            match one(json) {
                PlatformEvent::Other { reason, .. } => assert_eq!(reason, expected, "{json}"),
                other => panic!("{json} -> {other:?}"),
            }
        }
        let PlatformEvent::Other {
            time,
            event_type,
            record,
            reason: OtherReason::BadRecord(why),
        } = one(
            r#"{"time":"2022-10-21T14:05:03Z","type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":"fast"}}}"#,
        )
        else {
            panic!("expected a bad record")
        };
        assert_eq!(time, Some(at(1_666_361_103_000)));
        assert_eq!(event_type, "platform.report");
        assert_eq!(record["requestId"], "r");
        assert!(
            why.contains("durationMs") || why.contains("invalid type"),
            "{why}"
        );
    }

    #[test]
    fn unknown_enum_values_are_kept_as_text() {
        let event = one(
            r#"{"time":"2022-10-21T14:05:03Z","type":"platform.initReport","record":{
                "initializationType":"lambda-managed-instances","phase":"warmup","status":"cancelled",
                "metrics":{"durationMs":10}}}"#,
        );
        let PlatformEvent::Known {
            record: Record::InitReport(record),
            ..
        } = event
        else {
            panic!()
        };
        assert_eq!(
            record.initialization_type.as_str(),
            "lambda-managed-instances"
        );
        assert_eq!(record.phase.as_str(), "warmup");
        assert_eq!(record.status, Status::Other("cancelled".into()));
        assert_eq!(record.metrics.duration_ms, 10.0);
    }

    #[test]
    fn every_known_type_parses() {
        let batch = br#"[
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.initRuntimeDone","record":{"initializationType":"on-demand","status":"success"}},
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.restoreStart","record":{"functionName":"f"}},
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.restoreRuntimeDone","record":{"status":"success"}},
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.restoreReport","record":{"status":"success","metrics":{"durationMs":120.5}}},
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.extension","record":{"name":"my-extension","state":"Ready","events":["SHUTDOWN","INVOKE"]}},
          {"time":"2022-10-19T13:52:15.667Z","type":"platform.telemetrySubscription","record":{"name":"my-extension","state":"Subscribed","types":["platform","function"]}},
          {"time":"2022-10-19T13:52:15.667Z","type":"platform.logsDropped","record":{"reason":"Consumer seems to have fallen behind","droppedRecords":123,"droppedBytes":12345}}
        ]"#;
        let types: Vec<String> = parse_batch(batch)
            .unwrap()
            .iter()
            .map(|e| {
                assert!(!matches!(e, PlatformEvent::Other { .. }), "{e:?}");
                e.event_type().to_owned()
            })
            .collect();
        assert_eq!(
            types,
            [
                "platform.initRuntimeDone",
                "platform.restoreStart",
                "platform.restoreRuntimeDone",
                "platform.restoreReport",
                "platform.extension",
                "platform.telemetrySubscription",
                "platform.logsDropped"
            ]
        );
    }

    #[test]
    fn unknown_types_with_any_record_and_known_types_without_one() {
        for record in ["{}", "1", "\"text\"", "null", "[1,2]"] {
            let json = format!(
                r#"{{"time":"2022-10-21T14:05:03Z","type":"platform.future","record":{record}}}"#
            );
            assert!(matches!(
                one(&json),
                PlatformEvent::Other {
                    reason: OtherReason::UnknownType,
                    ..
                }
            ));
        }
        assert!(matches!(
            one(r#"{"time":"2022-10-21T14:05:03Z","type":"platform.start"}"#),
            PlatformEvent::Other {
                reason: OtherReason::BadRecord(_),
                ..
            }
        ));
    }

    /// Any JSON value: scalars, arrays and objects, nested.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            "2022-10-21T14:05:0[0-9](\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})"
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("time".to_owned()),
                            Just("type".to_owned()),
                            Just("record".to_owned()),
                            Just("requestId".to_owned()),
                            Just("status".to_owned()),
                            Just("metrics".to_owned()),
                            Just("spans".to_owned()),
                            Just("durationMs".to_owned()),
                            ".{0,8}",
                        ],
                        inner
                    ),
                    0..6
                )
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    /// An event of a known type whose record is arbitrary JSON.
    fn event_like() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let types = prop_oneof![
            Just("platform.initStart"),
            Just("platform.initRuntimeDone"),
            Just("platform.initReport"),
            Just("platform.restoreStart"),
            Just("platform.restoreRuntimeDone"),
            Just("platform.restoreReport"),
            Just("platform.start"),
            Just("platform.runtimeDone"),
            Just("platform.report"),
            Just("platform.extension"),
            Just("platform.telemetrySubscription"),
            Just("platform.logsDropped"),
            Just("function"),
        ];
        (types, any_json(), any_json()).prop_map(|(event_type, time, record)| {
            serde_json::json!({ "time": time, "type": event_type, "record": record })
        })
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = parse_batch(&body);
        }

        #[test]
        fn arbitrary_json_never_panics_and_keeps_every_element(batch in proptest::collection::vec(
            proptest::prop_oneof![any_json(), event_like()], 0..8
        )) {
            let body = serde_json::to_vec(&batch).unwrap();
            let events = parse_batch(&body).unwrap();
            proptest::prop_assert_eq!(events.len(), batch.len());
            for event in &events {
                let _ = (event.time(), event.event_type(), event.request_id());
            }
        }
    }
}
