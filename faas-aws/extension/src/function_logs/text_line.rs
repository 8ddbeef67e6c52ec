//! [`parse_text`]: one line of a function's text output (`AWS_LAMBDA_LOG_FORMAT=Text`), read
//! leniently for a timestamp, a request id and a level in front of the message.

use std::time::SystemTime;

use crate::platform_events::parse_rfc3339;

use super::severity::severity_number;

/// A trace id and a span id.
pub(crate) type TraceIds = ([u8; 16], [u8; 8]);

/// What the front of a text line tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextLine {
    /// The line's own timestamp, when it starts with one.
    pub(crate) time: Option<SystemTime>,
    /// The request id the runtime wrote in front, when it did.
    pub(crate) request_id: Option<String>,
    /// The level as written (`INFO`, `[ERROR]` without its brackets), when there is one.
    pub(crate) level: Option<String>,
    /// The trace id and span id the line ends with (`traceId=<32 hex> spanId=<16 hex>`, as
    /// faas-aws's own log lines do), when it does.
    pub(crate) trace: Option<TraceIds>,
    /// The rest: the message (without that trace context).
    pub(crate) message: String,
}

/// Reads `line`, written by a runtime or a logging library, without ever failing:
///
/// - Lambda's runtimes, tab-separated: `2024-05-01T10:00:00.000Z\t<request id>\tINFO\tmessage`
///   (Node.js, Java, .NET), `[INFO]\t2024-05-01T10:00:00.000Z\t<request id>\tmessage` (Python):
///   up to three leading fields, each a timestamp, a request id (a UUID) or a level, in any order;
/// - space-separated, as Rust's `tracing` formats by default
///   (`2024-05-01T10:00:00.000000Z  INFO orders::handler: message`, or `  INFO target: message`
///   without time): an optional timestamp, then a level; the message keeps the target;
/// - anything else is all message.
///
/// A `-` in place of the request id (faas-aws writes it outside an invocation) is skipped. A
/// line ending with ` traceId=<32 hex> spanId=<16 hex>` gives that trace context and loses that
/// ending. ANSI color codes are removed and a trailing newline is dropped.
pub(crate) fn parse_text(line: &str) -> TextLine {
    let line = strip_ansi(line);
    let line = line.trim_end_matches(['\n', '\r']);
    let (line, trace) = match trace_suffix(line) {
        Some((rest, trace)) => (rest, Some(trace)),
        None => (line, None),
    };
    let parsed = tab_separated(line)
        .or_else(|| space_separated(line))
        .unwrap_or_else(|| TextLine {
            time: None,
            request_id: None,
            level: None,
            trace: None,
            message: line.to_owned(),
        });
    TextLine { trace, ..parsed }
}

/// `line` without its ` traceId=<32 hex> spanId=<16 hex>` ending, and those ids.
fn trace_suffix(line: &str) -> Option<(&str, TraceIds)> {
    let (rest, span) = line.rsplit_once(" spanId=")?;
    let (rest, trace) = rest.rsplit_once(" traceId=")?;
    Some((rest, (hex_id(trace)?, hex_id(span)?)))
}

/// `N` bytes from `2 * N` hex digits, `None` for anything else or all zeros (an invalid id).
pub(crate) fn hex_id<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut id = [0u8; N];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    id.iter().any(|b| *b != 0).then_some(id)
}

/// The tab-separated form, when at least one leading field is a timestamp, id or level and a
/// tab follows it.
fn tab_separated(line: &str) -> Option<TextLine> {
    let mut parsed = TextLine {
        time: None,
        request_id: None,
        level: None,
        trace: None,
        message: String::new(),
    };
    let mut no_id = false;
    let mut rest = line;
    let mut matched = false;
    for _ in 0..3 {
        let Some((field, after)) = rest.split_once('\t') else {
            break;
        };
        let field = field.trim();
        if parsed.time.is_none()
            && let Some(time) = parse_rfc3339(field)
        {
            parsed.time = Some(time);
        } else if parsed.request_id.is_none() && !no_id && is_uuid(field) {
            parsed.request_id = Some(field.to_owned());
        } else if parsed.request_id.is_none() && !no_id && field == "-" {
            no_id = true;
        } else if parsed.level.is_none() && severity_number(field).is_some() {
            parsed.level = Some(unbracketed(field).to_owned());
        } else {
            break;
        }
        matched = true;
        rest = after;
    }
    matched.then(|| TextLine {
        message: rest.to_owned(),
        ..parsed
    })
}

/// The space-separated form: `[timestamp] LEVEL message`, a level required.
fn space_separated(line: &str) -> Option<TextLine> {
    let (first, after_first) = next_word(line)?;
    let (time, level, rest) = match parse_rfc3339(first) {
        Some(time) => {
            let (second, after_second) = next_word(after_first)?;
            (Some(time), second, after_second)
        }
        None => (None, first, after_first),
    };
    severity_number(level)?;
    Some(TextLine {
        time,
        request_id: None,
        trace: None,
        level: Some(unbracketed(level).to_owned()),
        message: rest.trim_start().to_owned(),
    })
}

/// The first whitespace-separated word of `text` and what follows it.
fn next_word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    Some((&text[..end], &text[end..]))
}

fn unbracketed(level: &str) -> &str {
    level
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .unwrap_or(level)
}

/// Whether `text` is a UUID (`8-4-4-4-12` hex digits): what Lambda's request ids look like.
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `text` without ANSI escape sequences (`ESC [ ... final`), as colored output has them.
fn strip_ansi(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\u{1b}') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

    fn at(ms: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_millis(ms))
    }

    fn line(
        time: Option<SystemTime>,
        request_id: Option<&str>,
        level: Option<&str>,
        message: &str,
    ) -> TextLine {
        TextLine {
            time,
            request_id: request_id.map(str::to_owned),
            level: level.map(str::to_owned),
            trace: None,
            message: message.to_owned(),
        }
    }

    #[test]
    fn lines_of_runtimes_and_libraries() {
        // 2024-05-01T10:00:00.123Z = 1714557600123 ms.
        let t = at(1_714_557_600_123);
        for (text, expected) in [
            (
                format!("2024-05-01T10:00:00.123Z\t{ID}\tINFO\torder 42 placed\n"),
                line(t, Some(ID), Some("INFO"), "order 42 placed"),
            ),
            (
                format!("[ERROR]\t2024-05-01T10:00:00.123Z\t{ID}\tboom\twith a tab"),
                line(t, Some(ID), Some("ERROR"), "boom\twith a tab"),
            ),
            (
                format!("2024-05-01T10:00:00.123Z\t{ID}\tmessage without level"),
                line(t, Some(ID), None, "message without level"),
            ),
            (
                "2024-05-01T10:00:00.123000Z  WARN orders::handler: stock low sku=7".to_owned(),
                line(t, None, Some("WARN"), "orders::handler: stock low sku=7"),
            ),
            (
                "  INFO orders: hello".to_owned(),
                line(None, None, Some("INFO"), "orders: hello"),
            ),
            (
                "\u{1b}[2m2024-05-01T10:00:00.123Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2morders\u{1b}[0m\u{1b}[2m:\u{1b}[0m colored".to_owned(),
                line(t, None, Some("INFO"), "orders: colored"),
            ),
            ("DEBUG".to_owned(), line(None, None, Some("DEBUG"), "")),
            (
                "just a line\r\n".to_owned(),
                line(None, None, None, "just a line"),
            ),
            (
                "Information: not a level".to_owned(),
                line(None, None, None, "Information: not a level"),
            ),
            (
                "2024-05-01T10:00:00.123Z no level here".to_owned(),
                line(None, None, None, "2024-05-01T10:00:00.123Z no level here"),
            ),
            ("".to_owned(), line(None, None, None, "")),
            ("\tx".to_owned(), line(None, None, None, "\tx")),
            (
                "START RequestId: 8476a536 Version: $LATEST".to_owned(),
                line(None, None, None, "START RequestId: 8476a536 Version: $LATEST"),
            ),
        ] {
            assert_eq!(parse_text(&text), expected, "{text:?}");
        }
    }

    #[test]
    fn faas_aws_lines_give_their_trace_context_and_a_dash_for_no_id() {
        let trace = "0af7651916cd43dd8448eb211c80319c";
        let span = "b7ad6b7169203331";
        let parsed = parse_text(&format!(
            "2024-05-01T10:00:00.123Z\t{ID}\tINFO\torders: accepted order_id=42 traceId={trace} spanId={span}"
        ));
        assert_eq!(
            parsed,
            TextLine {
                trace: Some((hex_id(trace).unwrap(), hex_id(span).unwrap())),
                ..line(
                    at(1_714_557_600_123),
                    Some(ID),
                    Some("INFO"),
                    "orders: accepted order_id=42"
                )
            }
        );
        assert_eq!(
            parse_text("2024-05-01T10:00:00.123Z\t-\tWARN\torders: idle"),
            line(at(1_714_557_600_123), None, Some("WARN"), "orders: idle")
        );
        // Not ids: kept in the message.
        for text in [
            format!("x traceId={trace} spanId=b7ad"),
            format!("x traceId={} spanId={span}", "0".repeat(32)),
            format!("x spanId={span} traceId={trace}"),
        ] {
            assert_eq!(parse_text(&text).trace, None, "{text}");
            assert_eq!(parse_text(&text).message, text);
        }
    }

    #[test]
    fn uuids() {
        assert!(is_uuid(ID));
        assert!(!is_uuid("8476a536-e9f4-11e8-9739-2dfe598c3fc"));
        assert!(!is_uuid("8476a536xe9f4-11e8-9739-2dfe598c3fcd"));
        assert!(!is_uuid("g476a536-e9f4-11e8-9739-2dfe598c3fcd"));
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_and_keeps_its_message(text in "\\PC{0,64}", tabs in "[\\t a-zA-Z0-9:.\\-\\[\\]\\x1b]{0,64}") {
            let _ = parse_text(&text);
            let parsed = parse_text(&tabs);
            proptest::prop_assert!(parsed.message.len() <= tabs.len());
        }
    }
}
