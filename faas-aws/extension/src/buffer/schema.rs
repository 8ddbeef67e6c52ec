//! [`validate`]: checks that bytes are a well-formed OTLP export request of a signal, field by
//! field against the OTLP messages' field numbers and types, without decoding them.
//!
//! What passes decodes with prost into the generated OTLP types (the known fields have their
//! wire type, strings are UTF-8, nesting stays within prost's recursion limit); unknown fields
//! are allowed, as prost skips them. Nothing is allocated.

use super::wire::{Fields, Value, WireError};

/// How a field is encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A varint (ints, bools, enums).
    Varint,
    /// Fixed 64 bits (fixed64, sfixed64, double).
    I64,
    /// Fixed 32 bits (fixed32, float).
    I32,
    /// A UTF-8 string.
    Str,
    /// Bytes.
    Bytes,
    /// A nested message.
    Message(&'static Schema),
    /// A repeated varint, packed or not.
    RepeatedVarint,
    /// A repeated fixed 64-bit value, packed or not.
    RepeatedI64,
}

/// Field numbers below this are looked up by index (OTLP's go up to 16).
const FIELDS: usize = 17;

/// The known fields of one message, by field number.
#[derive(Debug)]
pub(crate) struct Schema([Option<Kind>; FIELDS]);

impl Schema {
    /// The schema of a message with these `(field number, kind)` (numbers below [`FIELDS`]).
    const fn of(fields: &[(u32, Kind)]) -> Self {
        let mut table = [None; FIELDS];
        let mut i = 0;
        while i < fields.len() {
            let (number, kind) = fields[i];
            table[number as usize] = Some(kind);
            i += 1;
        }
        Self(table)
    }

    #[inline(always)]
    fn kind(&self, number: u32) -> Option<Kind> {
        self.0.get(number as usize).copied().flatten()
    }
}

/// Nesting allowed below the request (prost allows 100; OTLP needs a handful).
const DEPTH_LIMIT: u32 = 64;

use Kind::{Bytes, I32, I64, Message, RepeatedI64, RepeatedVarint, Str, Varint};

static ANY_VALUE: Schema = Schema::of(&[
    (1, Str),
    (2, Varint),
    (3, Varint),
    (4, I64),
    (5, Message(&ARRAY_VALUE)),
    (6, Message(&KEY_VALUE_LIST)),
    (7, Bytes),
    (8, Varint),
]);
static ARRAY_VALUE: Schema = Schema::of(&[(1, Message(&ANY_VALUE))]);
static KEY_VALUE_LIST: Schema = Schema::of(&[(1, Message(&KEY_VALUE))]);
static KEY_VALUE: Schema = Schema::of(&[(1, Str), (2, Message(&ANY_VALUE)), (3, Varint)]);
static SCOPE: Schema = Schema::of(&[(1, Str), (2, Str), (3, Message(&KEY_VALUE)), (4, Varint)]);
static ENTITY_REF: Schema = Schema::of(&[(1, Str), (2, Str), (3, Str), (4, Str)]);
static RESOURCE: Schema = Schema::of(&[
    (1, Message(&KEY_VALUE)),
    (2, Varint),
    (3, Message(&ENTITY_REF)),
]);

static STATUS: Schema = Schema::of(&[(2, Str), (3, Varint)]);
static EVENT: Schema = Schema::of(&[(1, I64), (2, Str), (3, Message(&KEY_VALUE)), (4, Varint)]);
static LINK: Schema = Schema::of(&[
    (1, Bytes),
    (2, Bytes),
    (3, Str),
    (4, Message(&KEY_VALUE)),
    (5, Varint),
    (6, I32),
]);
static SPAN: Schema = Schema::of(&[
    (1, Bytes),
    (2, Bytes),
    (3, Str),
    (4, Bytes),
    (5, Str),
    (6, Varint),
    (7, I64),
    (8, I64),
    (9, Message(&KEY_VALUE)),
    (10, Varint),
    (11, Message(&EVENT)),
    (12, Varint),
    (13, Message(&LINK)),
    (14, Varint),
    (15, Message(&STATUS)),
    (16, I32),
]);
static SCOPE_SPANS: Schema = Schema::of(&[(1, Message(&SCOPE)), (2, Message(&SPAN)), (3, Str)]);
static RESOURCE_SPANS: Schema = Schema::of(&[
    (1, Message(&RESOURCE)),
    (2, Message(&SCOPE_SPANS)),
    (3, Str),
]);
/// `ExportTraceServiceRequest`.
pub(crate) static TRACES: Schema = Schema::of(&[(1, Message(&RESOURCE_SPANS))]);

static EXEMPLAR: Schema = Schema::of(&[
    (7, Message(&KEY_VALUE)),
    (2, I64),
    (4, Bytes),
    (5, Bytes),
    (3, I64),
    (6, I64),
]);
static NUMBER_POINT: Schema = Schema::of(&[
    (7, Message(&KEY_VALUE)),
    (2, I64),
    (3, I64),
    (5, Message(&EXEMPLAR)),
    (8, Varint),
    (4, I64),
    (6, I64),
]);
static HISTOGRAM_POINT: Schema = Schema::of(&[
    (9, Message(&KEY_VALUE)),
    (2, I64),
    (3, I64),
    (4, I64),
    (5, I64),
    (6, RepeatedI64),
    (7, RepeatedI64),
    (8, Message(&EXEMPLAR)),
    (10, Varint),
    (11, I64),
    (12, I64),
]);
static BUCKETS: Schema = Schema::of(&[(1, Varint), (2, RepeatedVarint)]);
static EXPONENTIAL_POINT: Schema = Schema::of(&[
    (1, Message(&KEY_VALUE)),
    (2, I64),
    (3, I64),
    (4, I64),
    (5, I64),
    (6, Varint),
    (7, I64),
    (8, Message(&BUCKETS)),
    (9, Message(&BUCKETS)),
    (10, Varint),
    (11, Message(&EXEMPLAR)),
    (12, I64),
    (13, I64),
    (14, I64),
]);
static QUANTILE: Schema = Schema::of(&[(1, I64), (2, I64)]);
static SUMMARY_POINT: Schema = Schema::of(&[
    (7, Message(&KEY_VALUE)),
    (2, I64),
    (3, I64),
    (4, I64),
    (5, I64),
    (6, Message(&QUANTILE)),
    (8, Varint),
]);
static GAUGE: Schema = Schema::of(&[(1, Message(&NUMBER_POINT))]);
static SUM: Schema = Schema::of(&[(1, Message(&NUMBER_POINT)), (2, Varint), (3, Varint)]);
static HISTOGRAM: Schema = Schema::of(&[(1, Message(&HISTOGRAM_POINT)), (2, Varint)]);
static EXPONENTIAL: Schema = Schema::of(&[(1, Message(&EXPONENTIAL_POINT)), (2, Varint)]);
static SUMMARY: Schema = Schema::of(&[(1, Message(&SUMMARY_POINT))]);
static METRIC: Schema = Schema::of(&[
    (1, Str),
    (2, Str),
    (3, Str),
    (12, Message(&KEY_VALUE)),
    (5, Message(&GAUGE)),
    (7, Message(&SUM)),
    (9, Message(&HISTOGRAM)),
    (10, Message(&EXPONENTIAL)),
    (11, Message(&SUMMARY)),
]);
static SCOPE_METRICS: Schema = Schema::of(&[(1, Message(&SCOPE)), (2, Message(&METRIC)), (3, Str)]);
static RESOURCE_METRICS: Schema = Schema::of(&[
    (1, Message(&RESOURCE)),
    (2, Message(&SCOPE_METRICS)),
    (3, Str),
]);
/// `ExportMetricsServiceRequest`.
pub(crate) static METRICS: Schema = Schema::of(&[(1, Message(&RESOURCE_METRICS))]);

static LOG_RECORD: Schema = Schema::of(&[
    (1, I64),
    (11, I64),
    (2, Varint),
    (3, Str),
    (5, Message(&ANY_VALUE)),
    (6, Message(&KEY_VALUE)),
    (7, Varint),
    (8, I32),
    (9, Bytes),
    (10, Bytes),
    (12, Str),
]);
static SCOPE_LOGS: Schema =
    Schema::of(&[(1, Message(&SCOPE)), (2, Message(&LOG_RECORD)), (3, Str)]);
static RESOURCE_LOGS: Schema =
    Schema::of(&[(1, Message(&RESOURCE)), (2, Message(&SCOPE_LOGS)), (3, Str)]);
/// `ExportLogsServiceRequest`.
pub(crate) static LOGS: Schema = Schema::of(&[(1, Message(&RESOURCE_LOGS))]);

/// Checks that `message` is well-formed as `schema` (see the module documentation).
pub(crate) fn validate(schema: &Schema, message: &[u8]) -> Result<(), WireError> {
    validate_at(schema, message, DEPTH_LIMIT)
}

fn validate_at(schema: &Schema, message: &[u8], depth: u32) -> Result<(), WireError> {
    let mut fields = Fields::new(message);
    while let Some(field) = fields.next_field()? {
        let Some(kind) = schema.kind(field.number) else {
            // Unknown fields are skipped, as prost does.
            continue;
        };
        match (kind, field.value) {
            (Varint | RepeatedVarint, Value::Varint(_))
            | (I64 | RepeatedI64, Value::I64(_))
            | (I32, Value::I32(_))
            | (Bytes, Value::Len(_)) => {}
            (Str, Value::Len(bytes)) => {
                if !bytes.is_ascii() {
                    std::str::from_utf8(bytes).map_err(|_| WireError("string is not UTF-8"))?;
                }
            }
            (Message(nested), Value::Len(bytes)) => {
                let depth = depth.checked_sub(1).ok_or(WireError("nested too deeply"))?;
                validate_at(nested, bytes, depth)?;
            }
            (RepeatedI64, Value::Len(bytes)) => {
                if bytes.len() % 8 != 0 {
                    return Err(WireError("packed fixed64 not a multiple of 8 bytes"));
                }
            }
            (RepeatedVarint, Value::Len(mut bytes)) => {
                while !bytes.is_empty() {
                    prost::encoding::decode_varint(&mut bytes)
                        .map_err(|_| WireError("invalid packed varint"))?;
                }
            }
            _ => return Err(WireError("wire type does not match the field")),
        }
    }
    Ok(())
}
