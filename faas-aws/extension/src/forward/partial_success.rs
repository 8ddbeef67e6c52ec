//! [`partial_success`]: the items a `2xx` answer says the upstream rejected, from the body of
//! an `Export{Trace,Metrics,Logs}ServiceResponse` in protobuf or OTLP/JSON.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde_json::Value;

/// What the upstream rejected of an accepted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected {
    /// Items rejected (a negative count counts as zero).
    pub(crate) items: u64,
    /// The upstream's `error_message` (may be empty).
    pub(crate) message: String,
}

/// The `partial_success` of a success answer's `body` (`json`: OTLP/JSON, else protobuf);
/// `None` when it has none, rejects nothing and says nothing, or does not decode (a success is
/// a success).
///
/// The three responses share one wire layout (`partial_success` = field 1: `rejected_*` int64
/// = 1, `error_message` = 2), so the trace response decodes all three in protobuf; in JSON the
/// field is whichever `rejected*` key is present, a number or a string (proto3 JSON writes
/// 64-bit integers as strings).
pub(crate) fn partial_success(body: &[u8], json: bool) -> Option<Rejected> {
    let rejected = if json {
        let value: Value = serde_json::from_slice(body).ok()?;
        let partial = value
            .get("partialSuccess")
            .or_else(|| value.get("partial_success"))?;
        let items = partial
            .as_object()?
            .iter()
            .find(|(k, _)| k.starts_with("rejected"))
            .and_then(|(_, v)| match v {
                Value::Number(n) => n.as_i64().or_else(|| n.as_u64().map(|_| i64::MAX)),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            })
            .unwrap_or(0);
        let message = partial
            .get("errorMessage")
            .or_else(|| partial.get("error_message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        (items, message)
    } else {
        let partial = ExportTraceServiceResponse::decode(body)
            .ok()?
            .partial_success?;
        (partial.rejected_spans, partial.error_message)
    };
    let (items, message) = rejected;
    let items = u64::try_from(items).unwrap_or(0);
    (items > 0 || !message.is_empty()).then_some(Rejected { items, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::{
        ExportLogsPartialSuccess, ExportLogsServiceResponse,
    };
    use opentelemetry_proto::tonic::collector::metrics::v1::{
        ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
    use proptest::prelude::*;

    fn rejected(items: u64, message: &str) -> Option<Rejected> {
        Some(Rejected {
            items,
            message: message.into(),
        })
    }

    #[test]
    fn protobuf_answers_of_each_signal() {
        let traces = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "too old".into(),
            }),
        };
        assert_eq!(
            partial_success(&traces.encode_to_vec(), false),
            rejected(3, "too old")
        );
        let metrics = ExportMetricsServiceResponse {
            partial_success: Some(ExportMetricsPartialSuccess {
                rejected_data_points: 7,
                error_message: String::new(),
            }),
        };
        assert_eq!(
            partial_success(&metrics.encode_to_vec(), false),
            rejected(7, "")
        );
        let logs = ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: -4,
                error_message: "warning only".into(),
            }),
        };
        assert_eq!(
            partial_success(&logs.encode_to_vec(), false),
            rejected(0, "warning only")
        );
        assert_eq!(partial_success(b"", false), None);
        assert_eq!(partial_success(&[0xff, 0xff, 0xff], false), None);
        let empty = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess::default()),
        };
        assert_eq!(partial_success(&empty.encode_to_vec(), false), None);
    }

    #[test]
    fn json_answers_with_numbers_or_strings() {
        let table: &[(&str, Option<Rejected>)] = &[
            (
                r#"{"partialSuccess":{"rejectedSpans":"5","errorMessage":"m"}}"#,
                rejected(5, "m"),
            ),
            (
                r#"{"partialSuccess":{"rejectedDataPoints":2}}"#,
                rejected(2, ""),
            ),
            (
                r#"{"partial_success":{"rejected_log_records":1,"error_message":"x"}}"#,
                rejected(1, "x"),
            ),
            (
                r#"{"partialSuccess":{"rejectedSpans":18446744073709551615}}"#,
                rejected(i64::MAX as u64, ""),
            ),
            (r#"{"partialSuccess":{}}"#, None),
            (r#"{"partialSuccess":null}"#, None),
            ("{}", None),
            ("", None),
            ("not json", None),
        ];
        for (body, expected) in table {
            assert_eq!(&partial_success(body.as_bytes(), true), expected, "{body}");
        }
    }

    proptest! {
        #[test]
        fn any_body_is_read_without_a_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = partial_success(&body, false);
            let _ = partial_success(&body, true);
        }
    }
}
