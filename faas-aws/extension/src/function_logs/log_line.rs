//! [`log_line`]: one `function` or `extension` event of the Telemetry API as an OTLP log record
//! (not yet tied to an invocation's trace).

use std::time::SystemTime;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde_json::{Map, Value};

use crate::otlp;
use crate::platform_events::parse_rfc3339;

use super::severity::severity_number;
use super::text_line::{TraceIds, hex_id, parse_text};

/// The attribute naming the Telemetry API stream a record came from (`function` or
/// `extension`).
pub(crate) const SOURCE_ATTRIBUTE: &str = "faas_otel.log.source";

/// Which Telemetry API log stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// `type: function`: the function's output.
    Function,
    /// `type: extension`: the extensions' output.
    Extension,
}

impl Stream {
    /// The stream of an event `type`, `None` for any other type.
    pub(crate) fn of(event_type: &str) -> Option<Self> {
        match event_type {
            "function" => Some(Self::Function),
            "extension" => Some(Self::Extension),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Function => "function",
            Self::Extension => "extension",
        }
    }
}

/// A log record and the request id its line names, if any (the record carries the line's own
/// trace context when the line has one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogLine {
    /// The request id written in the line (`requestId` of a JSON record, the id field of a
    /// runtime's text line).
    pub(crate) request_id: Option<String>,
    /// The record, without `faas.invocation_id` and trace context (added when tied).
    pub(crate) record: LogRecord,
}

/// The record of one event of `stream` at `time` (the event's `time`) whose `record` is
/// `value`: a string (text log format) or an object (JSON log format).
///
/// - text: timestamp, request id and level read by [`parse_text`], the rest the body;
/// - JSON: `timestamp` (RFC 3339), `level`, `requestId`, `traceId` and `spanId` (32 and 16
///   hex digits, as faas-aws writes them) and `message` (the body, any JSON value) read, every
///   other field an attribute of the same name (JSON values as OTLP values:
///   objects as key-value lists, arrays as arrays, whole numbers as integers); without a
///   `message`, the whole object is the body;
/// - anything else is the body as it is.
///
/// The record's time is the line's own timestamp, else the event's; the observed time is the
/// event's. The severity number comes from the level (unspecified without one) and the
/// severity text is the level as written. Attribute [`SOURCE_ATTRIBUTE`] names the stream.
pub(crate) fn log_line(stream: Stream, time: Option<SystemTime>, value: &Value) -> LogLine {
    let mut line = match value {
        Value::String(text) => {
            let parsed = parse_text(text);
            Parsed {
                time: parsed.time,
                request_id: parsed.request_id,
                level: parsed.level,
                trace: parsed.trace,
                body: string(parsed.message),
                attributes: Vec::new(),
            }
        }
        Value::Object(object) => json_record(object),
        other => Parsed {
            time: None,
            request_id: None,
            level: None,
            trace: None,
            body: any_value(other),
            attributes: Vec::new(),
        },
    };
    let mut attributes = vec![key_value(
        SOURCE_ATTRIBUTE.to_owned(),
        string(stream.as_str().to_owned()),
    )];
    attributes.append(&mut line.attributes);
    let observed = time.map(otlp::unix_nanos).unwrap_or(0);
    let level = line.level.unwrap_or_default();
    let (trace_id, span_id, flags) = match line.trace {
        // W3C trace flags in the low byte: sampled (the line was written inside a recorded span).
        Some((trace, span)) => (trace.to_vec(), span.to_vec(), 0x01),
        None => (Vec::new(), Vec::new(), 0),
    };
    LogLine {
        request_id: line.request_id,
        record: LogRecord {
            time_unix_nano: line.time.map(otlp::unix_nanos).unwrap_or(observed),
            observed_time_unix_nano: observed,
            severity_number: severity_number(&level).map_or(0, |n| n as i32),
            severity_text: level,
            body: Some(line.body),
            attributes,
            trace_id,
            span_id,
            flags,
            ..LogRecord::default()
        },
    }
}

/// What a line's text or JSON gave.
struct Parsed {
    time: Option<SystemTime>,
    request_id: Option<String>,
    level: Option<String>,
    trace: Option<TraceIds>,
    body: AnyValue,
    attributes: Vec<KeyValue>,
}

fn json_record(object: &Map<String, Value>) -> Parsed {
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let trace = text("traceId")
        .and_then(hex_id::<16>)
        .zip(text("spanId").and_then(hex_id::<8>));
    let Some(message) = object.get("message") else {
        return Parsed {
            time: text("timestamp").and_then(parse_rfc3339),
            request_id: text("requestId").map(str::to_owned),
            level: text("level").map(str::to_owned),
            trace,
            body: any_value(&Value::Object(object.clone())),
            attributes: Vec::new(),
        };
    };
    let read: &[&str] = if trace.is_some() {
        &[
            "timestamp",
            "level",
            "requestId",
            "message",
            "traceId",
            "spanId",
        ]
    } else {
        &["timestamp", "level", "requestId", "message"]
    };
    Parsed {
        time: text("timestamp").and_then(parse_rfc3339),
        request_id: text("requestId").map(str::to_owned),
        level: text("level").map(str::to_owned),
        trace,
        body: any_value(message),
        attributes: object
            .iter()
            .filter(|(key, _)| !read.contains(&key.as_str()))
            .map(|(key, value)| key_value(key.clone(), any_value(value)))
            .collect(),
    }
}

/// An attribute.
pub(crate) fn key_value(key: String, value: AnyValue) -> KeyValue {
    KeyValue {
        key,
        value: Some(value),
        ..KeyValue::default()
    }
}

/// A string value.
pub(crate) fn string(text: String) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(text)),
    }
}

/// A JSON value as an OTLP value (`null` as an empty value).
pub(crate) fn any_value(value: &Value) -> AnyValue {
    let value = match value {
        Value::Null => None,
        Value::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        }),
        Value::String(s) => Some(any_value::Value::StringValue(s.clone())),
        Value::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items.iter().map(any_value).collect(),
        })),
        Value::Object(object) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: object
                .iter()
                .map(|(key, value)| key_value(key.clone(), any_value(value)))
                .collect(),
        })),
    };
    AnyValue { value }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::logs::v1::SeverityNumber;
    use serde_json::json;
    use std::time::{Duration, UNIX_EPOCH};

    const ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
    /// 2024-05-01T10:00:00.123Z and the event's time 2 ms later.
    const LINE_NS: u64 = 1_714_557_600_123_000_000;
    const EVENT_NS: u64 = 1_714_557_600_125_000_000;

    fn event_time() -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_nanos(EVENT_NS))
    }

    fn kv(key: &str, value: AnyValue) -> KeyValue {
        key_value(key.to_owned(), value)
    }

    fn source(stream: &str) -> KeyValue {
        kv(SOURCE_ATTRIBUTE, string(stream.to_owned()))
    }

    #[test]
    fn a_text_line_of_a_runtime() {
        let line = log_line(
            Stream::Function,
            event_time(),
            &json!(format!("2024-05-01T10:00:00.123Z\t{ID}\tWARN\tstock low\n")),
        );
        assert_eq!(
            line,
            LogLine {
                request_id: Some(ID.to_owned()),
                record: LogRecord {
                    time_unix_nano: LINE_NS,
                    observed_time_unix_nano: EVENT_NS,
                    severity_number: SeverityNumber::Warn as i32,
                    severity_text: "WARN".into(),
                    body: Some(string("stock low".into())),
                    attributes: vec![source("function")],
                    ..LogRecord::default()
                },
            }
        );
    }

    #[test]
    fn a_tracing_line_without_time_takes_the_events() {
        let line = log_line(
            Stream::Extension,
            event_time(),
            &json!("  ERROR orders::db: connection reset"),
        );
        assert_eq!(line.request_id, None);
        assert_eq!(
            line.record,
            LogRecord {
                time_unix_nano: EVENT_NS,
                observed_time_unix_nano: EVENT_NS,
                severity_number: SeverityNumber::Error as i32,
                severity_text: "ERROR".into(),
                body: Some(string("orders::db: connection reset".into())),
                attributes: vec![source("extension")],
                ..LogRecord::default()
            }
        );
    }

    #[test]
    fn a_json_record_with_its_own_fields() {
        let line = log_line(
            Stream::Function,
            event_time(),
            &json!({
                "timestamp": "2024-05-01T10:00:00.123Z",
                "level": "INFO",
                "requestId": ID,
                "message": "order placed",
                "orderId": 42,
                "total": 9.5,
                "tags": ["a", true],
                "customer": {"tier": "gold", "since": null},
            }),
        );
        assert_eq!(line.request_id.as_deref(), Some(ID));
        let int = |i| AnyValue {
            value: Some(any_value::Value::IntValue(i)),
        };
        assert_eq!(
            line.record,
            LogRecord {
                time_unix_nano: LINE_NS,
                observed_time_unix_nano: EVENT_NS,
                severity_number: SeverityNumber::Info as i32,
                severity_text: "INFO".into(),
                body: Some(string("order placed".into())),
                // serde_json keeps object keys sorted.
                attributes: vec![
                    source("function"),
                    kv(
                        "customer",
                        AnyValue {
                            value: Some(any_value::Value::KvlistValue(KeyValueList {
                                values: vec![
                                    kv("since", AnyValue { value: None }),
                                    kv("tier", string("gold".into())),
                                ],
                            })),
                        }
                    ),
                    kv("orderId", int(42)),
                    kv(
                        "tags",
                        AnyValue {
                            value: Some(any_value::Value::ArrayValue(ArrayValue {
                                values: vec![
                                    string("a".into()),
                                    AnyValue {
                                        value: Some(any_value::Value::BoolValue(true)),
                                    },
                                ],
                            })),
                        }
                    ),
                    kv(
                        "total",
                        AnyValue {
                            value: Some(any_value::Value::DoubleValue(9.5)),
                        }
                    ),
                ],
                ..LogRecord::default()
            }
        );
    }

    #[test]
    fn a_json_record_without_message_is_its_whole_body() {
        let record = json!({"level": "debug", "event": "cache miss", "timestamp": "yesterday"});
        let line = log_line(Stream::Function, None, &record);
        assert_eq!(line.request_id, None);
        assert_eq!(line.record.time_unix_nano, 0);
        assert_eq!(line.record.severity_number, SeverityNumber::Debug as i32);
        assert_eq!(line.record.severity_text, "debug");
        assert_eq!(line.record.body, Some(any_value(&record)));
        assert_eq!(line.record.attributes, vec![source("function")]);
    }

    #[test]
    fn a_faas_aws_json_line_carries_its_own_trace_context() {
        let line = log_line(
            Stream::Function,
            event_time(),
            &json!({
                "timestamp": "2024-05-01T10:00:00.123Z", "level": "INFO", "message": "accepted",
                "requestId": ID, "traceId": "0af7651916cd43dd8448eb211c80319c",
                "spanId": "b7ad6b7169203331", "target": "orders",
            }),
        );
        assert_eq!(line.request_id.as_deref(), Some(ID));
        assert_eq!(
            line.record.trace_id,
            0x0af7651916cd43dd8448eb211c80319c_u128.to_be_bytes()
        );
        assert_eq!(line.record.span_id, 0xb7ad6b7169203331_u64.to_be_bytes());
        assert_eq!(line.record.flags, 1);
        assert_eq!(
            line.record.attributes,
            [source("function"), kv("target", string("orders".into()))]
        );
        // Ids that are not ids stay attributes, and give no trace context.
        let line = log_line(
            Stream::Function,
            event_time(),
            &json!({"message": "m", "traceId": "abc", "spanId": "b7ad6b7169203331"}),
        );
        assert!(line.record.trace_id.is_empty());
        assert_eq!(line.record.flags, 0);
        assert_eq!(
            line.record.attributes,
            [
                source("function"),
                kv("spanId", string("b7ad6b7169203331".into())),
                kv("traceId", string("abc".into()))
            ]
        );
    }

    #[test]
    fn other_json_is_the_body_and_unknown_levels_are_unspecified() {
        let line = log_line(Stream::Function, event_time(), &json!(12));
        assert_eq!(
            line.record.body,
            Some(AnyValue {
                value: Some(any_value::Value::IntValue(12))
            })
        );
        assert_eq!(line.record.severity_number, 0);
        let line = log_line(
            Stream::Function,
            event_time(),
            &json!({"level": "LOUD", "message": {"nested": u64::MAX}, "requestId": 7}),
        );
        assert_eq!(line.record.severity_number, 0);
        assert_eq!(line.record.severity_text, "LOUD");
        assert_eq!(line.request_id, None, "a non-string requestId is no id");
        assert_eq!(
            line.record.body,
            Some(any_value(&json!({"nested": u64::MAX})))
        );
    }
}
