//! [`sample_traces`]: tail sampling over the held trace requests, which stay bytes.
//!
//! The sampler sees, for every held span in order, only what its rules read (trace id, times,
//! status code, `faas.invocation_id`, `faas.coldstart`), read from the bytes with
//! [`span_view`](super::scan::span_view); the held requests are then rewritten without the
//! spans of dropped traces ([`retain_items`]).

use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use opentelemetry_semantic_conventions::attribute as attr;

use crate::platform_events::InvocationOutcome;
use crate::tail_sampling::TailSampler;

use super::held::{Held, exact};
use super::rewrite::retain_items;
use super::scan::{SpanView, for_each_span};
use super::signal::Signal;
use super::store::Buffer;

/// An attribute of the sampler's view of a span.
fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// The sampler's view of span number `index`: what its rules read, and the index as span id.
fn rule_view(view: &SpanView<'_>, index: u64) -> Span {
    let mut attributes = Vec::new();
    if let Some(id) = view.invocation_id {
        attributes.push(attribute(
            attr::FAAS_INVOCATION_ID,
            any_value::Value::StringValue(id.to_owned()),
        ));
    }
    if let Some(coldstart) = view.coldstart {
        attributes.push(attribute(
            attr::FAAS_COLDSTART,
            any_value::Value::BoolValue(coldstart),
        ));
    }
    Span {
        trace_id: view.trace_id.to_vec(),
        span_id: index.to_be_bytes().to_vec(),
        start_time_unix_nano: view.start,
        end_time_unix_nano: view.end,
        attributes,
        status: (view.status_code != 0).then(|| Status {
            code: view.status_code,
            ..Status::default()
        }),
        ..Span::default()
    }
}

/// Keeps or drops each held trace whole with `sampler` (all held requests are looked at
/// together, as one request), as of `now`; returns the spans dropped. Held requests left
/// without spans are removed; the others are rewritten without the dropped spans.
pub(crate) fn sample_traces(
    buffer: &mut Buffer,
    sampler: &mut TailSampler,
    outcome_of: &dyn Fn(&str) -> Option<InvocationOutcome>,
    now: SystemTime,
) -> u64 {
    // The views of each held request (`None`: unreadable, which validated bytes are not, and
    // then kept as it is).
    let mut spans = Vec::new();
    let mut readable = Vec::with_capacity(buffer.traces.len());
    for held in &buffer.traces {
        let mut views = Vec::new();
        let scanned = for_each_span(held.body(), |view| {
            views.push(rule_view(&view, spans.len() as u64 + views.len() as u64))
        });
        readable.push(scanned.is_ok());
        if scanned.is_ok() {
            spans.append(&mut views);
        }
    }
    if spans.is_empty() {
        return 0;
    }
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    let total = request.resource_spans[0].scope_spans[0].spans.len();
    let (kept, _stats) = sampler.filter(request, outcome_of, now);
    let mut keep = vec![false; total];
    for span in crate::otlp::spans(&kept) {
        if let Ok(index) = <[u8; 8]>::try_from(span.span_id.as_slice())
            && let Some(slot) = usize::try_from(u64::from_be_bytes(index))
                .ok()
                .and_then(|i| keep.get_mut(i))
        {
            *slot = true;
        }
    }

    let mut dropped = 0u64;
    let mut next = 0usize;
    // Taken out and pushed back smaller, in order: everything fits again.
    for (held, readable) in buffer.take_traces().into_iter().zip(readable) {
        if !readable {
            buffer.push(Signal::Traces, held);
            continue;
        }
        let first = next;
        let items = usize::try_from(held.items()).unwrap_or(usize::MAX);
        next = first.saturating_add(items);
        let range = keep.get(first..next).unwrap_or_default();
        let kept_here = range.iter().filter(|k| **k).count();
        dropped += items.saturating_sub(kept_here) as u64;
        if kept_here == items {
            buffer.push(Signal::Traces, held);
        } else if kept_here > 0 {
            let mut at = first;
            let retained = retain_items(held.body(), &mut |_| {
                let kept = keep.get(at).copied().unwrap_or(true);
                at += 1;
                kept
            });
            let held = match retained {
                Ok(body) => Held::from_parts(exact(body), kept_here as u64),
                Err(_) => held,
            };
            buffer.push(Signal::Traces, held);
        }
    }
    dropped
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faas_core::env::Env;
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
    use prost::Message;

    fn span(trace: u128, id: u64, error: bool) -> Span {
        Span {
            trace_id: trace.to_be_bytes().to_vec(),
            span_id: id.to_be_bytes().to_vec(),
            name: format!("span {id}"),
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 2_000,
            status: error.then(|| Status {
                code: StatusCode::Error as i32,
                ..Status::default()
            }),
            ..Span::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn dropped_traces_leave_the_held_bytes_and_kept_ones_stay_whole() {
        let mut sampler = TailSampler::from_env(&Env::from_pairs([
            ("FAAS_OTEL_EXTENSION_KEEP", "decide"),
            ("FAAS_OTEL_EXTENSION_KEEP_RATE", "0"),
        ]))
        .unwrap();
        let mut buffer = Buffer::new(1 << 20);
        // Trace 1 has an error (kept whole, across both requests); trace 2 is fast and fine.
        let first = request(vec![span(1, 10, false), span(2, 20, false)]);
        let second = request(vec![span(2, 21, false), span(1, 11, true)]);
        let third = request(vec![span(2, 22, false)]);
        for r in [&first, &second, &third] {
            buffer.push_traces(r.clone());
        }
        let dropped = sample_traces(&mut buffer, &mut sampler, &|_| None, SystemTime::now());
        assert_eq!(dropped, 3);
        assert_eq!(
            buffer.traces.len(),
            2,
            "the request left without spans is removed"
        );
        let kept: Vec<ExportTraceServiceRequest> = buffer
            .traces
            .iter()
            .map(|h| ExportTraceServiceRequest::decode(h.body().clone()).unwrap())
            .collect();
        assert_eq!(kept[0], request(vec![span(1, 10, false)]));
        assert_eq!(kept[1], request(vec![span(1, 11, true)]));
        assert_eq!(buffer.traces.iter().map(Held::items).sum::<u64>(), 2);
        let held: usize = buffer.traces.iter().map(Held::held_bytes).sum();
        assert_eq!(buffer.bytes(), held);
    }
}
