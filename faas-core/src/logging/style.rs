//! [`LogFormat`]: what a log line looks like, with the field names the platform expects.
//!
//! faas-core names no cloud here: the provider crates choose the names (Lambda's `requestId`,
//! Cloud Logging's `logging.googleapis.com/trace`, ...) and hand them to [`super::layer`].

use tracing::Level;

/// The shape of every line: one JSON object, or one line of text.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line, with the keys of the [`JsonStyle`].
    Json(JsonStyle),
    /// One line of text per event, in the layout of the [`TextStyle`].
    Text(TextStyle),
}

/// The level names of OpenTelemetry and most log tools: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`.
pub fn plain_level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

/// Where the invocation id goes in a JSON line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvocationIdKey {
    /// Not written.
    Omitted,
    /// A top-level key (`requestId`).
    TopLevel(&'static str),
    /// A key inside a top-level object (`logging.googleapis.com/labels` / `execution_id`).
    Within(&'static str, &'static str),
}

/// The keys and values of a JSON line. The event's own fields are written at the top level
/// (a field whose name is one of the keys below is written as `fields.<name>` instead, so
/// nothing is overwritten); trace id and span id are lower-case hex, left out when no span is
/// active.
#[derive(Debug, Clone)]
pub struct JsonStyle {
    /// RFC 3339 time with milliseconds, UTC (`2026-12-01T10:00:00.000Z`); `None`: no time.
    pub timestamp_key: Option<&'static str>,
    /// Key of the level.
    pub level_key: &'static str,
    /// The level's name.
    pub level_name: fn(Level) -> &'static str,
    /// Key of the event's message.
    pub message_key: &'static str,
    /// Key of the event's target (the module path by default); `None`: not written.
    pub target_key: Option<&'static str>,
    /// Where the invocation id goes.
    pub invocation_id_key: InvocationIdKey,
    /// Key of the trace id.
    pub trace_id_key: &'static str,
    /// Written before the trace id (`projects/<project>/traces/`); empty for the bare id.
    pub trace_id_prefix: String,
    /// Key of the span id.
    pub span_id_key: &'static str,
    /// Key of the sampled flag (a JSON boolean); `None`: not written.
    pub trace_sampled_key: Option<&'static str>,
}

impl Default for JsonStyle {
    /// `timestamp`, `level` (`INFO`), `message`, `target`, `invocationId`, `traceId`, `spanId`.
    fn default() -> Self {
        Self {
            timestamp_key: Some("timestamp"),
            level_key: "level",
            level_name: plain_level_name,
            message_key: "message",
            target_key: Some("target"),
            invocation_id_key: InvocationIdKey::TopLevel("invocationId"),
            trace_id_key: "traceId",
            trace_id_prefix: String::new(),
            span_id_key: "spanId",
            trace_sampled_key: None,
        }
    }
}

impl JsonStyle {
    /// The keys this style writes itself (event fields with these names are renamed).
    pub(crate) fn reserved(&self, key: &str) -> bool {
        let invocation = match self.invocation_id_key {
            InvocationIdKey::Omitted => None,
            InvocationIdKey::TopLevel(k) | InvocationIdKey::Within(k, _) => Some(k),
        };
        [
            self.timestamp_key,
            Some(self.level_key),
            Some(self.message_key),
            self.target_key,
            invocation,
            Some(self.trace_id_key),
            Some(self.span_id_key),
            self.trace_sampled_key,
        ]
        .contains(&Some(key))
    }
}

/// The layout of a text line: tab-separated time, invocation id (`-` outside an invocation)
/// and level, then `target: message`, the event's fields as `key=value`, and the trace
/// context as `<trace_id_key>=<id> <span_id_key>=<id>` when a span is active:
///
/// ```text
/// 2026-12-01T10:00:00.000Z<TAB>8f5e…<TAB>INFO<TAB>orders: order accepted order_id=42 traceId=0af7… spanId=b7ad…
/// ```
///
/// (the layout of Lambda's own text lines, `timestamp<TAB>requestId<TAB>LEVEL<TAB>message`).
#[derive(Debug, Clone)]
pub struct TextStyle {
    /// Whether the line starts with the time.
    pub timestamp: bool,
    /// Whether the invocation id is the second column.
    pub invocation_id: bool,
    /// The level's name.
    pub level_name: fn(Level) -> &'static str,
    /// Whether `target: ` is written before the message.
    pub target: bool,
    /// Name of the trace id.
    pub trace_id_key: &'static str,
    /// Name of the span id.
    pub span_id_key: &'static str,
}

impl Default for TextStyle {
    fn default() -> Self {
        Self {
            timestamp: true,
            invocation_id: true,
            level_name: plain_level_name,
            target: true,
            trace_id_key: "traceId",
            span_id_key: "spanId",
        }
    }
}
