//! The context's wire forms: W3C `traceparent`/`tracestate` and the X-Ray trace header.

use std::collections::HashMap;
use std::sync::OnceLock;

use faas_core::propagation::{MapInjector, Propagation};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt};

use crate::SkipReason;

/// The W3C `traceparent` field name (message attribute, header, carrier key).
pub const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` field name.
pub const TRACESTATE: &str = "tracestate";
/// The AWS X-Ray trace header.
pub const XRAY_HEADER: &str = "x-amzn-trace-id";

/// The W3C fields of a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct W3cFields {
    pub(crate) traceparent: String,
    /// Only when non-empty.
    pub(crate) tracestate: Option<String>,
}

impl W3cFields {
    /// `(name, value)` pairs to write.
    #[cfg_attr(
        not(any(feature = "sqs", feature = "sns", feature = "lambda")),
        allow(dead_code)
    )]
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![(TRACEPARENT, self.traceparent.clone())];
        if let Some(state) = &self.tracestate {
            pairs.push((TRACESTATE, state.clone()));
        }
        pairs
    }
}

fn tracecontext() -> &'static Propagation {
    static PROPAGATION: OnceLock<Propagation> = OnceLock::new();
    PROPAGATION.get_or_init(|| Propagation::from_names("tracecontext").unwrap_or_default())
}

/// The W3C fields of the span in `cx`, whatever `OTEL_PROPAGATORS` says: the consumer side reads
/// W3C first.
pub(crate) fn w3c_fields(cx: &Context) -> Result<W3cFields, SkipReason> {
    if !cx.span().span_context().is_valid() {
        return Err(SkipReason::NoValidContext);
    }
    let mut map = HashMap::new();
    tracecontext().inject(cx, &mut MapInjector(&mut map));
    let traceparent = map.remove(TRACEPARENT).ok_or(SkipReason::NoValidContext)?;
    let tracestate = map.remove(TRACESTATE).filter(|s| !s.is_empty());
    Ok(W3cFields {
        traceparent,
        tracestate,
    })
}

/// Runs `inject` on an SDK input's optional attribute map, leaving `None` as is when nothing
/// was written.
#[cfg_attr(not(any(feature = "sqs", feature = "sns")), allow(dead_code))]
pub(crate) fn inject_optional<V>(
    cx: &Context,
    attributes: &mut Option<HashMap<String, V>>,
    inject: impl FnOnce(&Context, &mut HashMap<String, V>) -> Result<(), SkipReason>,
) -> Result<(), SkipReason> {
    let map = attributes.get_or_insert_with(HashMap::new);
    let result = inject(cx, map);
    if map.is_empty() {
        *attributes = None;
    }
    result
}

/// Runs `inject` on every entry of a batch, all of them even after a skip; the first reason an
/// entry was skipped.
#[cfg_attr(
    not(any(feature = "sqs", feature = "sns", feature = "eventbridge")),
    allow(dead_code)
)]
pub(crate) fn inject_each<T>(
    entries: impl IntoIterator<Item = T>,
    mut inject: impl FnMut(T) -> Result<(), SkipReason>,
) -> Option<SkipReason> {
    let mut skipped = None;
    for entry in entries {
        if let Err(reason) = inject(entry) {
            skipped.get_or_insert(reason);
        }
    }
    skipped
}

/// Adds the W3C fields of `cx` to a message attribute map holding at most `limit` attributes,
/// never overwriting an attribute of the user; all or nothing.
#[cfg_attr(not(any(feature = "sqs", feature = "sns")), allow(dead_code))]
pub(crate) fn inject_into_map<V>(
    cx: &Context,
    map: &mut HashMap<String, V>,
    limit: usize,
    make: impl Fn(String) -> Option<V>,
) -> Result<(), SkipReason> {
    let fields = w3c_fields(cx)?;
    let pairs = fields.pairs();
    if pairs.iter().any(|(name, _)| map.contains_key(*name)) {
        return Err(SkipReason::AlreadyPresent);
    }
    if map.len() + pairs.len() > limit {
        return Err(SkipReason::AttributeLimit);
    }
    let mut values = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        values.push((name, make(value).ok_or(SkipReason::AttributeBuild)?));
    }
    for (name, value) in values {
        map.insert(name.to_owned(), value);
    }
    Ok(())
}

/// The AWS X-Ray trace header of `span_context`
/// (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`), keeping the
/// extra keys of `existing` (notably `Lineage`, which Lambda uses for recursive-loop detection).
/// `None` when the span context is not valid.
pub fn xray_trace_header(span_context: &SpanContext, existing: Option<&str>) -> Option<String> {
    if !span_context.is_valid() {
        return None;
    }
    let trace_id = format!("{:032x}", span_context.trace_id());
    let mut header = format!(
        "Root=1-{}-{};Parent={:016x};Sampled={}",
        &trace_id[..8],
        &trace_id[8..],
        span_context.span_id(),
        if span_context.is_sampled() { "1" } else { "0" }
    );
    for part in existing.unwrap_or_default().split(';') {
        let part = part.trim();
        let key = part.split('=').next().unwrap_or_default().trim();
        if part.is_empty() || ["Root", "Parent", "Sampled", "Self"].contains(&key) {
            continue;
        }
        header.push(';');
        header.push_str(part);
    }
    Some(header)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    fn span_context(sampled: bool) -> SpanContext {
        SpanContext::new(
            TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
            SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
            if sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            },
            false,
            TraceState::default(),
        )
    }

    #[test]
    fn xray_header_table() {
        let cases: &[(bool, Option<&str>, &str)] = &[
            (
                true,
                None,
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            ),
            (
                false,
                None,
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
            ),
            (
                true,
                Some(
                    "Root=1-00000000-000000000000000000000001;Parent=0000000000000002;Sampled=0;Lineage=a87bd80c:1",
                ),
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1",
            ),
            (
                true,
                Some("Self=1-abc;Root=1-x-y"),
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            ),
        ];
        for (sampled, existing, expected) in cases {
            assert_eq!(
                xray_trace_header(&span_context(*sampled), *existing).as_deref(),
                Some(*expected),
                "{existing:?}"
            );
        }
        assert_eq!(xray_trace_header(&SpanContext::empty_context(), None), None);
    }

    #[test]
    fn w3c_fields_of_invalid_context_is_skipped() {
        assert_eq!(w3c_fields(&Context::new()), Err(SkipReason::NoValidContext));
    }
}
