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

/// A JSON object written in order, keys and values escaped by `serde_json`.
struct JsonObject {
    out: Vec<u8>,
}

impl JsonObject {
    fn new(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.push(b'{');
        Self { out }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(b',');
        }
        // Writing a `&str` into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut self.out, key);
        self.out.push(b':');
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        let _ = serde_json::to_writer(&mut self.out, value);
    }

    fn value(&mut self, key: &str, value: &Value) {
        self.key(key);
        let _ = serde_json::to_writer(&mut self.out, value);
    }

    fn finish(mut self) -> String {
        self.out.push(b'}');
        // serde_json writes UTF-8 only.
        String::from_utf8(self.out).unwrap_or_default()
    }
}

fn json_line(
    style: &JsonStyle,
    level: tracing::Level,
    target: &str,
    fields: EventFields,
    correlation: &Correlation,
    now: SystemTime,
) -> String {
    let mut object = JsonObject::new(256);
    if let Some(key) = style.timestamp_key {
        object.str(key, &timestamp(now));
    }
    object.str(style.level_key, (style.level_name)(level));
    object.str(
        style.message_key,
        fields.message.as_deref().unwrap_or_default(),
    );
    if let Some(id) = &correlation.invocation_id {
        match style.invocation_id_key {
            InvocationIdKey::Omitted => {}
            InvocationIdKey::TopLevel(key) => object.str(key, id),
            InvocationIdKey::Within(outer, key) => {
                object.value(outer, &serde_json::json!({ key: id }));
            }
        }
    }
    if let (Some(trace_id), Some(span_id)) = (&correlation.trace_id, &correlation.span_id) {
        if style.trace_id_prefix.is_empty() {
            object.str(style.trace_id_key, trace_id);
        } else {
            object.str(
                style.trace_id_key,
                &format!("{}{trace_id}", style.trace_id_prefix),
            );
        }
        object.str(style.span_id_key, span_id);
        if let Some(key) = style.trace_sampled_key {
            object.value(key, &Value::from(correlation.sampled));
        }
    }
    if let Some(key) = style.target_key {
        object.str(key, target);
    }
    for (name, value) in &fields.fields {
        if style.reserved(name) {
            object.value(&format!("fields.{name}"), value);
        } else {
            object.value(name, value);
        }
    }
    object.finish()
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
