//! The trace view of `cargo xtask demo`: OTLP JSON in, a terminal waterfall out.
//!
//! Reads the OTLP/JSON export format (`{"resourceSpans": [...]}`, ids in hex, times as decimal
//! strings or numbers, kinds as numbers or `SPAN_KIND_*` names) and draws each trace as a tree
//! of spans: function, span name, kind, a duration bar on the trace's time axis, the
//! duration, a cold-start marker and the invocation's cost.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

use super::otlp_json::{array, number, text};

/// Width of the duration bar, in terminal columns.
const BAR_WIDTH: usize = 32;
/// Marks a span whose invocation was a cold start.
const COLD_MARK: &str = "*cold*";

/// One span, flattened with what the view needs from its resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSpan {
    /// Hex trace id.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// Hex parent span id, empty for a root.
    pub parent_span_id: String,
    /// Span name.
    pub name: String,
    /// `SERVER`, `CLIENT`, `PRODUCER`, `CONSUMER` or `INTERNAL`.
    pub kind: &'static str,
    /// Start, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// End, nanoseconds since the Unix epoch.
    pub end_ns: u64,
    /// The function that recorded it (`faas.name`, else `service.name`).
    pub function: String,
    /// `faas.coldstart` on the span.
    pub cold_start: bool,
    /// `faas_otel.cost.usd` on the span, when present.
    pub cost_usd: Option<f64>,
    /// Whether the span's status is ERROR.
    pub error: bool,
    /// The (trace id, span id) of each link.
    pub links: Vec<(String, String)>,
}

impl ViewSpan {
    /// Duration in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        self.end_ns.saturating_sub(self.start_ns) as f64 / 1e6
    }
}

/// Every span of one OTLP/JSON `ExportTraceServiceRequest` document.
pub fn parse_request(document: &Value) -> Vec<ViewSpan> {
    let mut spans = Vec::new();
    for resource_spans in array(document, "resourceSpans") {
        let resource = attributes(resource_spans.get("resource").unwrap_or(&Value::Null));
        let function = resource
            .get("faas.name")
            .or_else(|| resource.get("service.name"))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned());
        for scope_spans in array(resource_spans, "scopeSpans") {
            for span in array(scope_spans, "spans") {
                let attrs = attributes(span);
                spans.push(ViewSpan {
                    trace_id: text(span, "traceId"),
                    span_id: text(span, "spanId"),
                    parent_span_id: text(span, "parentSpanId"),
                    name: text(span, "name"),
                    kind: kind_name(span.get("kind")),
                    start_ns: number(span.get("startTimeUnixNano")),
                    end_ns: number(span.get("endTimeUnixNano")),
                    function: function.clone(),
                    cold_start: attrs.get("faas.coldstart").and_then(Value::as_bool) == Some(true),
                    cost_usd: attrs.get("faas_otel.cost.usd").and_then(Value::as_f64),
                    error: span
                        .get("status")
                        .map(|s| {
                            matches!(s.get("code"), Some(Value::Number(n)) if n.as_u64() == Some(2))
                                || s.get("code").and_then(Value::as_str)
                                    == Some("STATUS_CODE_ERROR")
                        })
                        .unwrap_or(false),
                    links: array(span, "links")
                        .map(|l| (text(l, "traceId"), text(l, "spanId")))
                        .collect(),
                });
            }
        }
    }
    spans
}

fn kind_name(value: Option<&Value>) -> &'static str {
    let code = match value {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => match s.as_str() {
            "SPAN_KIND_INTERNAL" => 1,
            "SPAN_KIND_SERVER" => 2,
            "SPAN_KIND_CLIENT" => 3,
            "SPAN_KIND_PRODUCER" => 4,
            "SPAN_KIND_CONSUMER" => 5,
            _ => 0,
        },
        _ => 0,
    };
    match code {
        2 => "SERVER",
        3 => "CLIENT",
        4 => "PRODUCER",
        5 => "CONSUMER",
        _ => "INTERNAL",
    }
}

/// The `attributes` list of `value` as plain JSON values (strings, numbers, booleans).
fn attributes(value: &Value) -> HashMap<String, Value> {
    array(value, "attributes")
        .filter_map(|kv| {
            let key = kv.get("key")?.as_str()?.to_owned();
            let any = kv.get("value")?;
            let plain = if let Some(s) = any.get("stringValue") {
                s.clone()
            } else if let Some(b) = any.get("boolValue") {
                b.clone()
            } else if let Some(d) = any.get("doubleValue") {
                d.clone()
            } else if let Some(i) = any.get("intValue") {
                match i {
                    Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or(Value::Null),
                    other => other.clone(),
                }
            } else {
                Value::Null
            };
            Some((key, plain))
        })
        .collect()
}

/// One trace: its spans, in tree order, each with its depth.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Hex trace id.
    pub trace_id: String,
    /// `(depth, span)` in depth-first order, children by start time.
    pub rows: Vec<(usize, ViewSpan)>,
}

impl Trace {
    /// Earliest start of any span.
    pub fn start_ns(&self) -> u64 {
        self.rows.iter().map(|(_, s)| s.start_ns).min().unwrap_or(0)
    }

    /// Latest end of any span.
    pub fn end_ns(&self) -> u64 {
        self.rows.iter().map(|(_, s)| s.end_ns).max().unwrap_or(0)
    }

    /// Whether any invocation in the trace was a cold start.
    pub fn has_cold_start(&self) -> bool {
        self.rows.iter().any(|(_, s)| s.cold_start)
    }

    /// Sum of the invocations' costs.
    pub fn cost_usd(&self) -> f64 {
        self.rows.iter().filter_map(|(_, s)| s.cost_usd).sum()
    }
}

/// Groups `spans` into traces (ordered by start) and each trace into a tree. A span whose
/// parent is not in the data (the caller's span, e.g. the incoming `traceparent`) is a root
/// of the view. Duplicate span ids (a span received twice) are shown once.
pub fn assemble(spans: &[ViewSpan]) -> Vec<Trace> {
    let mut by_trace: BTreeMap<&str, Vec<&ViewSpan>> = BTreeMap::new();
    for span in spans {
        by_trace
            .entry(span.trace_id.as_str())
            .or_default()
            .push(span);
    }
    let mut traces: Vec<Trace> = by_trace
        .into_iter()
        .map(|(trace_id, mut spans)| {
            spans.sort_by_key(|s| (s.start_ns, s.span_id.clone()));
            spans.dedup_by(|a, b| a.span_id == b.span_id);
            let ids: std::collections::HashSet<&str> =
                spans.iter().map(|s| s.span_id.as_str()).collect();
            let mut children: HashMap<&str, Vec<&ViewSpan>> = HashMap::new();
            let mut roots = Vec::new();
            for span in &spans {
                if span.parent_span_id.is_empty() || !ids.contains(span.parent_span_id.as_str()) {
                    roots.push(*span);
                } else {
                    children
                        .entry(span.parent_span_id.as_str())
                        .or_default()
                        .push(span);
                }
            }
            let mut rows = Vec::new();
            let mut stack: Vec<(usize, &ViewSpan)> =
                roots.into_iter().rev().map(|s| (0, s)).collect();
            while let Some((depth, span)) = stack.pop() {
                rows.push((depth, span.clone()));
                if let Some(kids) = children.get(span.span_id.as_str()) {
                    for kid in kids.iter().rev() {
                        stack.push((depth + 1, kid));
                    }
                }
            }
            Trace {
                trace_id: trace_id.to_owned(),
                rows,
            }
        })
        .collect();
    traces.sort_by_key(Trace::start_ns);
    traces
}

/// Draws `trace` as a waterfall.
pub fn render(trace: &Trace) -> String {
    let start = trace.start_ns();
    let total = trace.end_ns().saturating_sub(start).max(1);
    let function_width = trace
        .rows
        .iter()
        .map(|(_, s)| s.function.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let name_width = trace
        .rows
        .iter()
        .map(|(depth, s)| depth * 2 + s.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 48);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trace {}  {:.1} ms{}{}",
        trace.trace_id,
        total as f64 / 1e6,
        if trace.has_cold_start() {
            "  (cold start)"
        } else {
            "  (warm)"
        },
        match trace.cost_usd() {
            c if c > 0.0 => format!("  cost ${c:.9}"),
            _ => String::new(),
        }
    );
    for (depth, span) in &trace.rows {
        let offset = span.start_ns.saturating_sub(start);
        let first = (offset as u128 * BAR_WIDTH as u128 / total as u128) as usize;
        let length = ((span.end_ns.saturating_sub(span.start_ns)) as u128 * BAR_WIDTH as u128
            / total as u128)
            .max(1) as usize;
        let first = first.min(BAR_WIDTH - 1);
        let length = length.min(BAR_WIDTH - first);
        let bar: String = (0..BAR_WIDTH)
            .map(|i| {
                if i >= first && i < first + length {
                    '#'
                } else {
                    '.'
                }
            })
            .collect();
        let name = format!("{}{}", "  ".repeat(*depth), span.name);
        let name: String = name.chars().take(name_width).collect();
        let mut extras = Vec::new();
        if span.cold_start {
            extras.push(COLD_MARK.to_owned());
        }
        if span.error {
            extras.push("ERROR".to_owned());
        }
        if let Some(cost) = span.cost_usd {
            extras.push(format!("${cost:.9}"));
        }
        if !span.links.is_empty() {
            extras.push(format!(
                "links: {}",
                span.links
                    .iter()
                    .map(|(t, s)| format!("{}/{}", short(t), short(s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let _ = writeln!(
            out,
            "  {:function_width$}  {:name_width$}  {:8}  |{bar}| {:>9.2} ms  {}",
            span.function,
            name,
            span.kind,
            span.duration_ms(),
            extras.join("  ")
        );
    }
    out
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

/// A cold and a warm trace side by side: for each `(function, span name)` of the cold trace,
/// its duration in both and the difference.
pub fn compare(cold: &Trace, warm: &Trace) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:40}  {:>10}  {:>10}  {:>10}",
        "function / span", "cold ms", "warm ms", "cold-warm"
    );
    let warm_by_key: HashMap<(String, String), f64> = warm
        .rows
        .iter()
        .map(|(_, s)| ((s.function.clone(), s.name.clone()), s.duration_ms()))
        .collect();
    for (_, span) in &cold.rows {
        let key = (span.function.clone(), span.name.clone());
        let label: String = format!("{} / {}", span.function, span.name)
            .chars()
            .take(40)
            .collect();
        match warm_by_key.get(&key) {
            Some(warm_ms) => {
                let _ = writeln!(
                    out,
                    "  {label:40}  {:>10.2}  {:>10.2}  {:>+10.2}",
                    span.duration_ms(),
                    warm_ms,
                    span.duration_ms() - warm_ms
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  {label:40}  {:>10.2}  {:>10}  {:>10}",
                    span.duration_ms(),
                    "-",
                    "cold only"
                );
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn document() -> Value {
        serde_json::json!({"resourceSpans": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "svc"}},
                {"key": "faas.name", "value": {"stringValue": "aws-http-api"}}
            ]},
            "scopeSpans": [{"spans": [
                {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "00000000000000a1",
                 "parentSpanId": "b7ad6b7169203331", "name": "POST /orders", "kind": 2,
                 "startTimeUnixNano": "1000000000", "endTimeUnixNano": "1100000000",
                 "attributes": [
                    {"key": "faas.coldstart", "value": {"boolValue": true}},
                    {"key": "faas_otel.cost.usd", "value": {"doubleValue": 0.0000021}}
                 ],
                 "status": {"code": 0}},
                {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "00000000000000a2",
                 "parentSpanId": "00000000000000a1", "name": "send orders",
                 "kind": "SPAN_KIND_PRODUCER",
                 "startTimeUnixNano": 1010000000u64, "endTimeUnixNano": "1030000000",
                 "status": {"code": 2}},
                {"traceId": "11111111111111111111111111111111", "spanId": "00000000000000b1",
                 "name": "orders process", "kind": 5,
                 "startTimeUnixNano": "2000000000", "endTimeUnixNano": "2005000000",
                 "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c",
                            "spanId": "00000000000000a2"}]}
            ]}]
        }]})
    }

    #[test]
    fn parses_otlp_json_ids_times_kinds_and_attributes() {
        let spans = parse_request(&document());
        assert_eq!(spans.len(), 3);
        let http = &spans[0];
        assert_eq!(http.function, "aws-http-api");
        assert_eq!(http.kind, "SERVER");
        assert!(http.cold_start);
        assert_eq!(http.cost_usd, Some(0.0000021));
        assert!((http.duration_ms() - 100.0).abs() < 1e-9);
        assert_eq!(spans[1].kind, "PRODUCER");
        assert!(spans[1].error);
        assert_eq!(spans[1].start_ns, 1_010_000_000);
        assert_eq!(
            spans[2].links,
            vec![(
                "0af7651916cd43dd8448eb211c80319c".to_owned(),
                "00000000000000a2".to_owned()
            )]
        );
    }

    #[test]
    fn assembles_trees_with_foreign_parents_as_roots_and_draws_bars() {
        let traces = assemble(&parse_request(&document()));
        assert_eq!(traces.len(), 2);
        let first = &traces[0];
        assert_eq!(first.trace_id, "0af7651916cd43dd8448eb211c80319c");
        let depths: Vec<(usize, &str)> = first
            .rows
            .iter()
            .map(|(d, s)| (*d, s.name.as_str()))
            .collect();
        assert_eq!(depths, vec![(0, "POST /orders"), (1, "send orders")]);
        let text = render(first);
        assert!(text.contains("(cold start)"), "{text}");
        assert!(text.contains(COLD_MARK), "{text}");
        // The root covers the whole axis; the child starts at 10% and lasts 20%.
        assert!(
            text.contains(&format!("|{}|", "#".repeat(BAR_WIDTH))),
            "{text}"
        );
        let child_bar = format!("|...{}{}|", "#".repeat(6), ".".repeat(BAR_WIDTH - 9));
        assert!(text.contains(&child_bar), "{text}");
        assert!(render(&traces[1]).contains("links: 0af76519/00000000"));
    }

    #[test]
    fn compare_lists_cold_and_warm_durations() {
        let traces = assemble(&parse_request(&document()));
        let text = compare(&traces[0], &traces[0]);
        assert!(text.contains("aws-http-api / POST /orders"), "{text}");
        assert!(text.contains("+0.00"), "{text}");
    }
}
