//! The log lines of `cargo xtask demo`: OTLP/JSON log records in (what the extension forwards
//! to the demo's receiver on `/v1/logs`), each trace's lines out, drawn under its waterfall
//! with their time from the trace's start, severity, function, the span they were written in
//! and their body.

use std::fmt::Write as _;

use serde_json::Value;

use super::otlp_json::{array, number, text};

/// One log record, flattened with its function.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewLog {
    /// Hex trace id, empty when the line was written outside a span.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// When it was written, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// `INFO`, `WARN`, ...
    pub severity: String,
    /// The message.
    pub body: String,
    /// `faas.name`, else `service.name`.
    pub function: String,
}

/// Every record of one OTLP/JSON `ExportLogsServiceRequest` document.
pub fn parse_request(document: &Value) -> Vec<ViewLog> {
    let mut logs = Vec::new();
    for resource_logs in array(document, "resourceLogs") {
        let function = array(
            resource_logs.get("resource").unwrap_or(&Value::Null),
            "attributes",
        )
        .filter(|kv| {
            matches!(
                kv.get("key").and_then(Value::as_str),
                Some("faas.name" | "service.name")
            )
        })
        .filter_map(|kv| {
            Some((
                kv.get("key")?.as_str()? == "faas.name",
                kv.get("value")?.get("stringValue")?.as_str()?.to_owned(),
            ))
        })
        .max_by_key(|(faas_name, _)| *faas_name)
        .map(|(_, name)| name)
        .unwrap_or_else(|| "?".to_owned());
        for scope_logs in array(resource_logs, "scopeLogs") {
            for record in array(scope_logs, "logRecords") {
                let time = match number(record.get("timeUnixNano")) {
                    0 => number(record.get("observedTimeUnixNano")),
                    t => t,
                };
                logs.push(ViewLog {
                    trace_id: text(record, "traceId"),
                    span_id: text(record, "spanId"),
                    time_ns: time,
                    severity: text(record, "severityText"),
                    body: body(record.get("body")),
                    function: function.clone(),
                });
            }
        }
    }
    logs
}

/// A body `AnyValue`: its string, else its JSON.
fn body(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(v) => match v.get("stringValue").and_then(Value::as_str) {
            Some(s) => s.to_owned(),
            None => v.to_string(),
        },
    }
}

/// The lines of trace `trace_id` (which started at `start_ns`), in time order, one per row:
/// `+offset ms  LEVEL  function  span  body`. Empty when the trace has none.
pub fn render(trace_id: &str, start_ns: u64, logs: &[ViewLog]) -> String {
    let mut lines: Vec<&ViewLog> = logs.iter().filter(|l| l.trace_id == trace_id).collect();
    if lines.is_empty() {
        return String::new();
    }
    lines.sort_by_key(|l| l.time_ns);
    lines.dedup();
    let function_width = lines
        .iter()
        .map(|l| l.function.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::from("  log lines:\n");
    for line in lines {
        let offset_ms = line.time_ns.saturating_sub(start_ns) as f64 / 1e6;
        let _ = writeln!(
            out,
            "    {offset_ms:>+9.2} ms  {:5}  {:function_width$}  span {}  {}",
            line.severity,
            line.function,
            &line.span_id[..line.span_id.len().min(8)],
            line.body.replace('\n', " ")
        );
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_records_and_draws_each_traces_lines_in_time_order() {
        let document = json!({"resourceLogs": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "svc"}},
                {"key": "faas.name", "value": {"stringValue": "orders-api"}}
            ]},
            "scopeLogs": [{"logRecords": [
                {"timeUnixNano": "3000000", "severityText": "ERROR",
                 "body": {"stringValue": "order\nlookup failed"},
                 "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331"},
                {"observedTimeUnixNano": 2000000, "severityText": "INFO",
                 "body": {"stringValue": "order accepted"},
                 "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "00f067aa0ba902b7"},
                {"timeUnixNano": "1", "severityText": "INFO", "body": {"intValue": "7"},
                 "traceId": "", "spanId": ""}
            ]}]
        }]});
        let logs = parse_request(&document);
        assert_eq!(logs.len(), 3);
        assert_eq!(logs[0].function, "orders-api");
        assert_eq!(logs[1].time_ns, 2_000_000);
        assert_eq!(logs[2].body, r#"{"intValue":"7"}"#);
        let drawn = render("0af7651916cd43dd8448eb211c80319c", 1_000_000, &logs);
        let rows: Vec<&str> = drawn.lines().collect();
        assert_eq!(rows.len(), 3, "{drawn}");
        assert_eq!(rows[0], "  log lines:");
        assert_eq!(
            rows[1],
            "        +1.00 ms  INFO   orders-api  span 00f067aa  order accepted"
        );
        assert!(
            rows[2].ends_with("span b7ad6b71  order lookup failed"),
            "{drawn}"
        );
        assert_eq!(render("4bf92f3577b34da6a3ce929d0e0e4736", 0, &logs), "");
    }
}
