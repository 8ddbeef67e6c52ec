//! [`CorrelatedFormat`]: a `tracing-subscriber` [`FormatEvent`] writing each event as one line
//! in a [`LogFormat`], with the [`Correlation`] of the current context.
//!
//! JSON values are written by `serde_json` (escaping included), never by hand.

use std::fmt::{self, Write as _};
use std::time::SystemTime;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::correlation::Correlation;
use super::style::{InvocationIdKey, JsonStyle, LogFormat, TextStyle};

/// Formats each event as one correlated line in a [`LogFormat`], with the [`Correlation`] of
/// the current context; JSON values are written by `serde_json`.
#[derive(Debug, Clone)]
pub struct CorrelatedFormat {
    format: LogFormat,
}

impl CorrelatedFormat {
    /// Lines in `format`.
    pub fn new(format: LogFormat) -> Self {
        Self { format }
    }

    /// One event's line (without the newline), with `correlation` and `now`: what
    /// [`FormatEvent::format_event`] writes.
    pub fn line(&self, event: &Event<'_>, correlation: &Correlation, now: SystemTime) -> String {
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let level = *event.metadata().level();
        let target = event.metadata().target();
        match &self.format {
            LogFormat::Json(style) => json_line(style, level, target, fields, correlation, now),
            LogFormat::Text(style) => text_line(style, level, target, fields, correlation, now),
        }
    }
}

impl<S, N> FormatEvent<S, N> for CorrelatedFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let line = self.line(event, &Correlation::current(), SystemTime::now());
        writeln!(writer, "{line}")
    }
}

/// RFC 3339, milliseconds, UTC.
fn timestamp(now: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(now).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The message and the other fields of an event, in order.
#[derive(Debug, Default)]
struct EventFields {
    message: Option<String>,
    fields: Vec<(&'static str, Value)>,
}

impl EventFields {
    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.fields.push((field.name(), value));
        }
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, serde_json::json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The error and its causes, as `anyhow`'s `{:#}` shows them.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        self.push(field, Value::from(text));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::from(format!("{value:?}")));
    }
}

/// `{"key":value,...}` in the order given; keys and values escaped by `serde_json`.
fn json_object<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(key).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

fn json_line(
    style: &JsonStyle,
    level: tracing::Level,
    target: &str,
    fields: EventFields,
    correlation: &Correlation,
    now: SystemTime,
) -> String {
    let mut pairs: Vec<(String, Value)> = Vec::with_capacity(fields.fields.len() + 8);
    if let Some(key) = style.timestamp_key {
        pairs.push((key.to_owned(), Value::from(timestamp(now))));
    }
    pairs.push((
        style.level_key.to_owned(),
        Value::from((style.level_name)(level)),
    ));
    pairs.push((
        style.message_key.to_owned(),
        Value::from(fields.message.unwrap_or_default()),
    ));
    if let Some(id) = &correlation.invocation_id {
        match style.invocation_id_key {
            InvocationIdKey::Omitted => {}
            InvocationIdKey::TopLevel(key) => {
                pairs.push((key.to_owned(), Value::from(id.as_str())))
            }
            InvocationIdKey::Within(object, key) => {
                pairs.push((object.to_owned(), serde_json::json!({ key: id })))
            }
        }
    }
    if let (Some(trace_id), Some(span_id)) = (&correlation.trace_id, &correlation.span_id) {
        pairs.push((
            style.trace_id_key.to_owned(),
            Value::from(format!("{}{trace_id}", style.trace_id_prefix)),
        ));
        pairs.push((style.span_id_key.to_owned(), Value::from(span_id.as_str())));
        if let Some(key) = style.trace_sampled_key {
            pairs.push((key.to_owned(), Value::from(correlation.sampled)));
        }
    }
    if let Some(key) = style.target_key {
        pairs.push((key.to_owned(), Value::from(target)));
    }
    for (name, value) in fields.fields {
        let key = if style.reserved(name) {
            format!("fields.{name}")
        } else {
            name.to_owned()
        };
        pairs.push((key, value));
    }
    json_object(pairs.iter().map(|(k, v)| (k.as_str(), v)))
}

/// A field value in a text line: strings as they are when they hold no space, quoted
/// (JSON-escaped) otherwise; anything else as JSON.
fn text_value(value: &Value) -> String {
    match value {
        Value::String(s)
            if !s.is_empty() && !s.contains(char::is_whitespace) && !s.contains('"') =>
        {
            s.clone()
        }
        other => other.to_string(),
    }
}

fn text_line(
    style: &TextStyle,
    level: tracing::Level,
    target: &str,
    fields: EventFields,
    correlation: &Correlation,
    now: SystemTime,
) -> String {
    let mut line = String::new();
    if style.timestamp {
        line.push_str(&timestamp(now));
        line.push('\t');
    }
    if style.invocation_id {
        line.push_str(correlation.invocation_id.as_deref().unwrap_or("-"));
        line.push('\t');
    }
    line.push_str((style.level_name)(level));
    line.push('\t');
    if style.target {
        line.push_str(target);
        line.push_str(": ");
    }
    // Newlines would split one event into several log entries.
    line.push_str(&fields.message.unwrap_or_default().replace('\n', "\\n"));
    for (name, value) in &fields.fields {
        let _ = write!(line, " {name}={}", text_value(value).replace('\n', "\\n"));
    }
    if let (Some(trace_id), Some(span_id)) = (&correlation.trace_id, &correlation.span_id) {
        let _ = write!(
            line,
            " {}={trace_id} {}={span_id}",
            style.trace_id_key, style.span_id_key
        );
    }
    line
}
