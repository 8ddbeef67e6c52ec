//! Held requests rewritten at the wire level, copying the bytes of what stays: [`retain_items`]
//! (the spans tail sampling keeps) and [`split_request`] (a request in two halves, for an
//! upstream that answered `413`).
//!
//! Every signal has the same three levels: the request's entries (`resource_*` = 1), each
//! entry's scopes (`scope_*` = 2, beside its resource and schema URL), each scope's items
//! (`spans`, `metrics`, `log_records` = 2, beside its scope and schema URL).

use super::scan::{ENTRIES, ITEMS, SCOPES};
use super::wire::{Field, Fields, Value, WireError, put_len};

/// Two encoded halves of one message.
pub(crate) type Halves = (Vec<u8>, Vec<u8>);

/// The fields of `message`.
fn fields(message: &[u8]) -> Result<Vec<Field<'_>>, WireError> {
    Fields::new(message).collect()
}

/// What becomes of one field when a message is rewritten.
enum Rewritten {
    /// Left out.
    Dropped,
    /// Copied as it is.
    Same,
    /// Replaced by these bytes (the field's new value).
    New(Vec<u8>),
}

/// `message` with its length-delimited fields numbered `number` rewritten by `rewrite`; the
/// other fields are copied. [`Rewritten::Dropped`] when it had such fields and all were left
/// out, or it had none and `drop_empty`; [`Rewritten::Same`] when none changed.
fn rewrite_children(
    message: &[u8],
    number: u32,
    drop_empty: bool,
    rewrite: &mut dyn FnMut(&[u8]) -> Result<Rewritten, WireError>,
) -> Result<Rewritten, WireError> {
    let mut out = Vec::with_capacity(message.len());
    let (mut had, mut kept, mut changed) = (false, false, false);
    let mut fields = Fields::new(message);
    while let Some(field) = fields.next_field()? {
        let whole = message.get(field.start..field.end).unwrap_or_default();
        match field.value {
            Value::Len(child) if field.number == number => {
                had = true;
                match rewrite(child)? {
                    Rewritten::Dropped => changed = true,
                    Rewritten::Same => {
                        kept = true;
                        out.extend_from_slice(whole);
                    }
                    Rewritten::New(bytes) => {
                        (kept, changed) = (true, true);
                        put_len(&mut out, number, &bytes);
                    }
                }
            }
            _ => out.extend_from_slice(whole),
        }
    }
    Ok(if (had && !kept) || (!had && drop_empty) {
        Rewritten::Dropped
    } else if changed {
        Rewritten::New(out)
    } else {
        Rewritten::Same
    })
}

/// The request with only the items for which `keep` (called once per item, in order) says
/// true. Scope entries and resource entries left without items are removed (also those that
/// had none), as the tail sampler's filter of decoded requests did.
pub(crate) fn retain_items(
    request: &[u8],
    keep: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<Vec<u8>, WireError> {
    let mut scope = |scope: &[u8]| {
        rewrite_children(scope, ITEMS, true, &mut |item| {
            Ok(if keep(item) {
                Rewritten::Same
            } else {
                Rewritten::Dropped
            })
        })
    };
    let mut entry = |entry: &[u8]| rewrite_children(entry, SCOPES, true, &mut scope);
    Ok(
        match rewrite_children(request, ENTRIES, false, &mut entry)? {
            Rewritten::Dropped => Vec::new(),
            Rewritten::Same => request.to_vec(),
            Rewritten::New(bytes) => bytes,
        },
    )
}

/// Where to cut `children` (byte-balanced halves, each with at least one).
fn middle(children: &[Field<'_>]) -> usize {
    let total: usize = children.iter().map(|f| f.end - f.start).sum();
    let mut at = 0usize;
    for (i, child) in children.iter().enumerate() {
        at += child.end - child.start;
        if at * 2 >= total {
            return (i + 1).clamp(1, children.len() - 1);
        }
    }
    children.len() / 2
}

/// `message` split in two by its fields numbered `number` (at least two of them): both halves
/// keep the other fields, each gets one half of those.
fn split_by(message: &[u8], number: u32) -> Result<Option<Halves>, WireError> {
    let all = fields(message)?;
    let children: Vec<Field<'_>> = all
        .iter()
        .filter(|f| f.number == number && matches!(f.value, Value::Len(_)))
        .copied()
        .collect();
    if children.len() < 2 {
        return Ok(None);
    }
    let cut = children[middle(&children)].start;
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for field in &all {
        let bytes = message.get(field.start..field.end).unwrap_or_default();
        let is_child = field.number == number && matches!(field.value, Value::Len(_));
        if !is_child {
            first.extend_from_slice(bytes);
            second.extend_from_slice(bytes);
        } else if field.start < cut {
            first.extend_from_slice(bytes);
        } else {
            second.extend_from_slice(bytes);
        }
    }
    Ok(Some((first, second)))
}

/// The only length-delimited field numbered `number` of `message`, with the other fields
/// around it, when there is exactly one.
fn only_child(message: &[u8], number: u32) -> Result<Option<(Field<'_>, &[u8])>, WireError> {
    let all = fields(message)?;
    let mut children = all
        .iter()
        .filter(|f| f.number == number && matches!(f.value, Value::Len(_)));
    match (children.next(), children.next()) {
        (Some(child), None) => Ok(child.bytes().map(|bytes| (*child, bytes))),
        _ => Ok(None),
    }
}

/// `message` with its field `child` replaced by field `number` holding `inner`.
fn replace(message: &[u8], child: &Field<'_>, number: u32, inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len().saturating_add(10));
    out.extend_from_slice(message.get(..child.start).unwrap_or_default());
    put_len(&mut out, number, inner);
    out.extend_from_slice(message.get(child.end..).unwrap_or_default());
    out
}

/// The request in two smaller requests with the same content together: by resource entries
/// when it has several, else by the scopes of its only entry, else by the items of its only
/// scope. `None` when it holds a single item (or less).
pub(crate) fn split_request(request: &[u8]) -> Result<Option<Halves>, WireError> {
    if let Some(halves) = split_by(request, ENTRIES)? {
        return Ok(Some(halves));
    }
    let Some((entry_field, entry)) = only_child(request, ENTRIES)? else {
        return Ok(None);
    };
    let halves = match split_by(entry, SCOPES)? {
        Some(halves) => halves,
        None => {
            let Some((scope_field, scope)) = only_child(entry, SCOPES)? else {
                return Ok(None);
            };
            let Some((a, b)) = split_by(scope, ITEMS)? else {
                return Ok(None);
            };
            (
                replace(entry, &scope_field, SCOPES, &a),
                replace(entry, &scope_field, SCOPES, &b),
            )
        }
    };
    Ok(Some((
        replace(request, &entry_field, ENTRIES, &halves.0),
        replace(request, &entry_field, ENTRIES, &halves.1),
    )))
}
