//! The Google Cloud `X-Cloud-Trace-Context` header.
//!
//! Google's front ends (HTTP(S) load balancers, Cloud Run, Cloud Functions, App Engine) add this
//! header to incoming requests, and older Google client libraries still send it. Its format is
//!
//! ```text
//! X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS
//! ```
//!
//! * `TRACE_ID`: 32 hexadecimal characters (either case), not all zeros;
//! * `SPAN_ID`: the parent span id as an unsigned **decimal** 64-bit integer, not zero (unlike
//!   W3C `traceparent`, which writes it as 16 hex characters);
//! * `o=OPTIONS`: `1` when the caller sampled the trace.
//!
//! Parsing is strict on the ids (a header that would yield a wrong parent is ignored entirely)
//! and lenient on the options (unknown options are ignored). Surrounding whitespace is trimmed,
//! as HTTP does for header values; whitespace inside the value is rejected.

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
};

/// The header name, lowercase as carriers expect it.
pub const CLOUD_TRACE_CONTEXT_HEADER: &str = "x-cloud-trace-context";

/// Propagator for the Google Cloud `X-Cloud-Trace-Context` header
/// (`OTEL_PROPAGATORS=cloudtrace`).
///
/// **Extract** accepts `TRACE_ID/SPAN_ID`, optionally followed by `;`-separated options:
///
/// | header                                       | result                         |
/// |----------------------------------------------|--------------------------------|
/// | `105445aa7843bc8bf206b12000100000/1;o=1`     | remote parent, sampled         |
/// | `105445aa7843bc8bf206b12000100000/1;o=0`     | remote parent, not sampled     |
/// | `105445aa7843bc8bf206b12000100000/1`         | remote parent, **not sampled** |
/// | `…/1;o=1;x=y`                                | unknown options are ignored    |
/// | bad trace id, bad or zero span id, `+1`, …   | ignored: context unchanged     |
///
/// A missing `o=` (or any value other than `1`) means *not sampled*. This is the conservative
/// reading of Google's documentation (`o=1` is the only value that means "traced") and it never
/// turns an unsampled request into a sampled one. The consequence: under a parent-based sampler,
/// a request whose header has no `o=` is not sampled. If that is not wanted, list
/// `tracecontext` after `cloudtrace` in `OTEL_PROPAGATORS` (the later propagator wins, and many
/// Google front ends now also send `traceparent`) or use a sampler that ignores the parent's
/// decision.
///
/// The extracted span context is marked remote and has an empty trace state.
///
/// **Inject** writes `{trace id, 32 lowercase hex}/{span id, decimal};o={1|0}`, and only when
/// the context holds a valid span context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloudTraceContextPropagator {
    _private: (),
}

impl CloudTraceContextPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a header value into a remote span context, or `None` when it is malformed.
    pub fn span_context_from_header(value: &str) -> Option<SpanContext> {
        let (trace_id, rest) = value.trim().split_once('/')?;
        let (span_id, options) = match rest.split_once(';') {
            Some((span_id, options)) => (span_id, Some(options)),
            None => (rest, None),
        };
        Some(SpanContext::new(
            parse_trace_id(trace_id)?,
            parse_span_id(span_id)?,
            options.map_or_else(TraceFlags::default, parse_options),
            true,
            TraceState::default(),
        ))
    }

    /// Formats a span context as a header value, or `None` when it is not valid.
    pub fn header_from_span_context(span_context: &SpanContext) -> Option<String> {
        if !span_context.is_valid() {
            return None;
        }
        let span_id = u64::from_be_bytes(span_context.span_id().to_bytes());
        let sampled = u8::from(span_context.is_sampled());
        Some(format!(
            "{:032x}/{span_id};o={sampled}",
            span_context.trace_id()
        ))
    }
}

/// 32 hex digits, either case, not all zeros.
fn parse_trace_id(s: &str) -> Option<TraceId> {
    // Checked by hand: `from_str_radix` would also accept a leading `+`.
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = u128::from_str_radix(s, 16).ok()?;
    (id != 0).then(|| TraceId::from_bytes(id.to_be_bytes()))
}

/// An unsigned decimal `u64`, not zero; no sign, no whitespace.
fn parse_span_id(s: &str) -> Option<SpanId> {
    // Checked by hand: `u64::from_str` would also accept a leading `+`.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: u64 = s.parse().ok()?; // fails on overflow
    (id != 0).then(|| SpanId::from_bytes(id.to_be_bytes()))
}

/// `;`-separated `key=value` options: `o=1` means sampled, anything else is ignored.
fn parse_options(options: &str) -> TraceFlags {
    let sampled = options
        .split(';')
        .filter_map(|option| option.split_once('='))
        .any(|(key, value)| key == "o" && value == "1");
    if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    }
}

fn header_fields() -> &'static [String] {
    static FIELDS: std::sync::OnceLock<[String; 1]> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| [CLOUD_TRACE_CONTEXT_HEADER.to_owned()])
}

impl TextMapPropagator for CloudTraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        if let Some(value) = Self::header_from_span_context(span.span_context()) {
            injector.set(CLOUD_TRACE_CONTEXT_HEADER, value);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        extractor
            .get(CLOUD_TRACE_CONTEXT_HEADER)
            .and_then(Self::span_context_from_header)
            .map_or_else(|| cx.clone(), |sc| cx.with_remote_span_context(sc))
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(header_fields())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const TRACE: &str = "105445aa7843bc8bf206b12000100000";

    fn trace_id(hex: &str) -> TraceId {
        TraceId::from_hex(hex).unwrap()
    }

    #[test]
    fn extracts_valid_headers() {
        let cases: &[(&str, &str, u64, bool)] = &[
            ("105445aa7843bc8bf206b12000100000/1;o=1", TRACE, 1, true),
            ("105445aa7843bc8bf206b12000100000/1;o=0", TRACE, 1, false),
            ("105445aa7843bc8bf206b12000100000/1", TRACE, 1, false),
            ("105445aa7843bc8bf206b12000100000/1;", TRACE, 1, false),
            ("105445aa7843bc8bf206b12000100000/1;o=", TRACE, 1, false),
            ("105445aa7843bc8bf206b12000100000/1;o=2", TRACE, 1, false),
            ("105445aa7843bc8bf206b12000100000/1;x=y;o=1", TRACE, 1, true),
            ("105445aa7843bc8bf206b12000100000/1;o=1;x=y", TRACE, 1, true),
            (
                "105445aa7843bc8bf206b12000100000/1;bare;o=1",
                TRACE,
                1,
                true,
            ),
            ("105445AA7843BC8BF206B12000100000/1;o=1", TRACE, 1, true),
            (" 105445aa7843bc8bf206b12000100000/1;o=1\t", TRACE, 1, true),
            ("105445aa7843bc8bf206b12000100000/007;o=1", TRACE, 7, true),
            (
                // u64::MAX
                "105445aa7843bc8bf206b12000100000/18446744073709551615;o=1",
                TRACE,
                u64::MAX,
                true,
            ),
            (
                "00000000000000000000000000000001/123456789;o=1",
                "00000000000000000000000000000001",
                123_456_789,
                true,
            ),
        ];
        for &(header, trace, span, sampled) in cases {
            let sc = CloudTraceContextPropagator::span_context_from_header(header)
                .unwrap_or_else(|| panic!("{header:?} should parse"));
            assert_eq!(sc.trace_id(), trace_id(trace), "{header:?}");
            assert_eq!(
                sc.span_id(),
                SpanId::from_bytes(span.to_be_bytes()),
                "{header:?}"
            );
            assert_eq!(sc.is_sampled(), sampled, "{header:?}");
            assert!(sc.is_remote(), "{header:?}");
            assert!(sc.is_valid(), "{header:?}");
        }
    }

    #[test]
    fn rejects_malformed_headers() {
        for header in [
            "",
            " ",
            "/",
            "105445aa7843bc8bf206b12000100000", // missing slash
            "105445aa7843bc8bf206b12000100000;o=1", // missing slash
            "105445aa7843bc8bf206b12000100000/", // empty span id
            "105445aa7843bc8bf206b12000100000/;o=1", // empty span id
            "/1;o=1",                           // empty trace id
            "105445aa7843bc8bf206b1200010000/1;o=1", // 31 hex chars
            "105445aa7843bc8bf206b120001000000/1;o=1", // 33 hex chars
            "105445aa7843bc8bf206b12000100000g/1;o=1", // non-hex, 33 chars
            "105445aa7843bc8bf206b1200010000g/1;o=1", // non-hex, 32 chars
            "+05445aa7843bc8bf206b12000100000/1;o=1", // sign in the trace id
            "00000000000000000000000000000000/1;o=1", // all-zero trace id
            "105445aa7843bc8bf206b12000100000/0;o=1", // zero span id
            "105445aa7843bc8bf206b12000100000/000;o=1", // zero span id
            "105445aa7843bc8bf206b12000100000/b7ad6b71;o=1", // hex span id
            "105445aa7843bc8bf206b12000100000/12ab;o=1", // letters in span id
            "105445aa7843bc8bf206b12000100000/+1;o=1", // sign
            "105445aa7843bc8bf206b12000100000/-1;o=1", // sign
            "105445aa7843bc8bf206b12000100000/1.5;o=1", // not an integer
            "105445aa7843bc8bf206b12000100000/18446744073709551616;o=1", // u64 overflow
            "105445aa7843bc8bf206b12000100000/ 1;o=1", // inner whitespace
            "105445aa7843bc8bf206b12000100000 /1;o=1", // inner whitespace
            "105445aa7843bc8bf206b12000100000/1 ;o=1", // inner whitespace
            "105445aa7843bc8bf206b12000100000/1/2;o=1", // two slashes
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // traceparent
        ] {
            assert_eq!(
                CloudTraceContextPropagator::span_context_from_header(header),
                None,
                "{header:?} should be rejected"
            );
        }
    }

    #[test]
    fn extract_leaves_the_context_unchanged_when_the_header_is_bad_or_absent() {
        let propagator = CloudTraceContextPropagator::new();
        for headers in [
            HashMap::new(),
            HashMap::from([(CLOUD_TRACE_CONTEXT_HEADER.to_owned(), "garbage".to_owned())]),
        ] {
            let cx = propagator.extract(&headers);
            assert!(!cx.span().span_context().is_valid());
        }
    }

    #[test]
    fn injects_lowercase_hex_and_decimal_span_id() {
        let cases: &[(&str, u64, TraceFlags, Option<&str>)] = &[
            (
                "105445AA7843BC8BF206B12000100000",
                1,
                TraceFlags::SAMPLED,
                Some("105445aa7843bc8bf206b12000100000/1;o=1"),
            ),
            (
                TRACE,
                u64::MAX,
                TraceFlags::default(),
                Some("105445aa7843bc8bf206b12000100000/18446744073709551615;o=0"),
            ),
            (
                "00000000000000000000000000000001",
                0xb7ad_6b71_6920_3331,
                TraceFlags::SAMPLED,
                Some("00000000000000000000000000000001/13235353014750950193;o=1"),
            ),
            // Invalid span contexts are not written.
            (
                "00000000000000000000000000000000",
                1,
                TraceFlags::SAMPLED,
                None,
            ),
            (TRACE, 0, TraceFlags::SAMPLED, None),
        ];
        let propagator = CloudTraceContextPropagator::new();
        for &(trace, span, flags, expected) in cases {
            let sc = SpanContext::new(
                trace_id(trace),
                SpanId::from_bytes(span.to_be_bytes()),
                flags,
                false,
                TraceState::default(),
            );
            let mut carrier = HashMap::new();
            propagator.inject_context(&Context::new().with_remote_span_context(sc), &mut carrier);
            assert_eq!(
                carrier.get(CLOUD_TRACE_CONTEXT_HEADER).map(String::as_str),
                expected,
                "{trace}/{span}"
            );
            if expected.is_none() {
                assert!(carrier.is_empty());
            }
        }
    }

    #[test]
    fn round_trips_through_a_carrier() {
        let propagator = CloudTraceContextPropagator::new();
        let header = "105445aa7843bc8bf206b12000100000/9876543210;o=1";
        let incoming = HashMap::from([(CLOUD_TRACE_CONTEXT_HEADER.to_owned(), header.to_owned())]);
        let cx = propagator.extract(&incoming);
        assert!(cx.span().span_context().is_remote());
        let mut outgoing = HashMap::new();
        propagator.inject_context(&cx, &mut outgoing);
        assert_eq!(outgoing, incoming);
        assert_eq!(
            propagator.fields().collect::<Vec<_>>(),
            [CLOUD_TRACE_CONTEXT_HEADER]
        );
    }
}
