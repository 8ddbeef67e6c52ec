//! Reading held OTLP protobuf without decoding it: [`item_count`] per signal and
//! [`for_each_span`] with a [`SpanView`] of what the extension needs of a span (its ids, times,
//! error status, `faas.invocation_id` and `faas.coldstart`).
//!
//! Repeated occurrences of a singular field read as prost reads them: the last one wins (and
//! messages merge).

use opentelemetry_semantic_conventions::attribute as attr;

use super::signal::Signal;
use super::wire::{Fields, Value, WireError};

/// `resource_*` in a request, `scope_*` in a resource entry, the items in a scope entry.
pub(crate) const ENTRIES: u32 = 1;
/// `scope_*` in a resource entry.
pub(crate) const SCOPES: u32 = 2;
/// Spans, metrics or log records in a scope entry.
pub(crate) const ITEMS: u32 = 2;

/// The length-delimited values of field `number` of `message`, in order.
pub(crate) fn each_len<'a>(
    message: &'a [u8],
    number: u32,
    mut f: impl FnMut(&'a [u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut fields = Fields::new(message);
    while let Some(field) = fields.next_field()? {
        if field.number == number
            && let Value::Len(bytes) = field.value
        {
            f(bytes)?;
        }
    }
    Ok(())
}

/// Every item (span, metric, log record) of a request, in order.
pub(crate) fn each_item<'a>(
    request: &'a [u8],
    mut f: impl FnMut(&'a [u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    each_len(request, ENTRIES, |entry| {
        each_len(entry, SCOPES, |scope| each_len(scope, ITEMS, &mut f))
    })
}

/// What a drop or a delivery counts: spans, metric data points, log records.
pub(crate) fn item_count(signal: Signal, request: &[u8]) -> Result<u64, WireError> {
    let mut count = 0u64;
    match signal {
        Signal::Traces | Signal::Logs => each_item(request, |_| {
            count += 1;
            Ok(())
        })?,
        Signal::Metrics => each_item(request, |metric| {
            // Gauge, sum, histogram, exponential histogram, summary: their data points (1).
            let mut data = None;
            let mut fields = Fields::new(metric);
            while let Some(field) = fields.next_field()? {
                if matches!(field.number, 5 | 7 | 9 | 10 | 11)
                    && let Value::Len(bytes) = field.value
                {
                    data = match data {
                        // The same kind again merges (its points add up); another replaces.
                        Some((number, points)) if number == field.number => {
                            Some((number, points + points_of(bytes)?))
                        }
                        _ => Some((field.number, points_of(bytes)?)),
                    };
                }
            }
            count += data.map_or(0, |(_, points)| points);
            Ok(())
        })?,
    }
    Ok(count)
}

fn points_of(data: &[u8]) -> Result<u64, WireError> {
    let mut points = 0u64;
    each_len(data, 1, |_| {
        points += 1;
        Ok(())
    })?;
    Ok(points)
}

/// What the extension needs of one span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SpanView<'a> {
    /// `trace_id` (not checked to be 16 bytes).
    pub(crate) trace_id: &'a [u8],
    /// `span_id`.
    pub(crate) span_id: &'a [u8],
    /// `parent_span_id`.
    pub(crate) parent_span_id: &'a [u8],
    /// `start_time_unix_nano`.
    pub(crate) start: u64,
    /// `end_time_unix_nano`.
    pub(crate) end: u64,
    /// `status.code`.
    pub(crate) status_code: i32,
    /// The string value of the first `faas.invocation_id` attribute.
    pub(crate) invocation_id: Option<&'a str>,
    /// The boolean value of the first `faas.coldstart` attribute.
    pub(crate) coldstart: Option<bool>,
}

/// The value of one attribute as far as the extension reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar<'a> {
    Str(&'a str),
    Bool(bool),
    Other,
}

/// The key of a `KeyValue` (the last one, as prost reads it).
#[inline]
fn key_of(kv: &[u8]) -> Result<&[u8], WireError> {
    let mut key: &[u8] = &[];
    let mut fields = Fields::new(kv);
    while let Some(field) = fields.next_field()? {
        if let (1, Value::Len(bytes)) = (field.number, field.value) {
            key = bytes;
        }
    }
    Ok(key)
}

/// The value of a `KeyValue` as far as the extension reads it: its `AnyValue` messages merge,
/// the last oneof field wins.
fn value_of(kv: &[u8]) -> Result<Option<Scalar<'_>>, WireError> {
    let mut value = None;
    let mut fields = Fields::new(kv);
    while let Some(field) = fields.next_field()? {
        if let (2, Value::Len(any)) = (field.number, field.value) {
            let mut any_fields = Fields::new(any);
            while let Some(one) = any_fields.next_field()? {
                value = match (one.number, one.value) {
                    (1, Value::Len(s)) => Some(
                        std::str::from_utf8(s)
                            .map(Scalar::Str)
                            .map_err(|_| WireError("string is not UTF-8"))?,
                    ),
                    (2, Value::Varint(b)) => Some(Scalar::Bool(b != 0)),
                    (3..=8, _) => Some(Scalar::Other),
                    _ => value,
                };
            }
        }
    }
    Ok(value)
}

/// The [`SpanView`] of an encoded span.
pub(crate) fn span_view(span: &[u8]) -> Result<SpanView<'_>, WireError> {
    let mut view = SpanView::default();
    let (mut invocation_seen, mut coldstart_seen) = (false, false);
    let mut fields = Fields::new(span);
    while let Some(field) = fields.next_field()? {
        match (field.number, field.value) {
            (1, Value::Len(bytes)) => view.trace_id = bytes,
            (2, Value::Len(bytes)) => view.span_id = bytes,
            (4, Value::Len(bytes)) => view.parent_span_id = bytes,
            (7, Value::I64(nanos)) => view.start = nanos,
            (8, Value::I64(nanos)) => view.end = nanos,
            (9, Value::Len(kv)) if !(invocation_seen && coldstart_seen) => {
                let key = key_of(kv)?;
                if key == attr::FAAS_INVOCATION_ID.as_bytes() && !invocation_seen {
                    invocation_seen = true;
                    view.invocation_id = match value_of(kv)? {
                        Some(Scalar::Str(s)) => Some(s),
                        _ => None,
                    };
                } else if key == attr::FAAS_COLDSTART.as_bytes() && !coldstart_seen {
                    coldstart_seen = true;
                    view.coldstart = match value_of(kv)? {
                        Some(Scalar::Bool(b)) => Some(b),
                        _ => None,
                    };
                }
            }
            (15, Value::Len(status)) => {
                let mut status_fields = Fields::new(status);
                while let Some(one) = status_fields.next_field()? {
                    if let (3, Value::Varint(code)) = (one.number, one.value) {
                        // An enum: the low 32 bits, as prost reads an int32.
                        view.status_code = code as i32;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(view)
}

/// Calls `f` with the view of every span of a trace request, in order.
pub(crate) fn for_each_span<'a>(
    request: &'a [u8],
    mut f: impl FnMut(SpanView<'a>),
) -> Result<(), WireError> {
    each_item(request, |span| {
        f(span_view(span)?);
        Ok(())
    })
}
