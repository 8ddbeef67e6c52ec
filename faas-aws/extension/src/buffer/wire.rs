//! [`Fields`]: the protobuf wire format read field by field, without decoding into structs and
//! without panicking on any input (hostile bytes end in a [`WireError`]).

use std::fmt;

/// The bytes are not a well-formed protobuf message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireError(pub(crate) &'static str);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One field's value as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (fixed64, sfixed64, double), little-endian.
    I64(u64),
    /// Wire type 5 (fixed32, sfixed32, float), little-endian.
    I32(u32),
    /// Wire type 2: a string, bytes, a message or a packed repeated field.
    Len(&'a [u8]),
}

/// One field: its number, its value, and where it sits in the message (`start..end` covers
/// its key and value, so it can be copied whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field number (≥ 1).
    pub(crate) number: u32,
    /// The value.
    pub(crate) value: Value<'a>,
    /// Offset of the field's key in the message.
    pub(crate) start: usize,
    /// Offset just past the field's value.
    pub(crate) end: usize,
}

impl<'a> Field<'a> {
    /// The bytes of a length-delimited value, `None` for another wire type.
    pub(crate) fn bytes(&self) -> Option<&'a [u8]> {
        match self.value {
            Value::Len(bytes) => Some(bytes),
            _ => None,
        }
    }
}

/// The fields of one message, in order. Groups (wire types 3 and 4, unused by OTLP) and
/// invalid keys are errors.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    /// What is left to read.
    rest: &'a [u8],
    /// The message's length (offsets are `len - rest.len()`).
    len: usize,
}

impl<'a> Fields<'a> {
    /// The fields of `message`.
    #[inline]
    pub(crate) fn new(message: &'a [u8]) -> Self {
        Self {
            rest: message,
            len: message.len(),
        }
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64, WireError> {
        // One byte: keys and short lengths, most of what OTLP holds.
        if let Some((&byte, rest)) = self.rest.split_first()
            && byte < 0x80
        {
            self.rest = rest;
            return Ok(u64::from(byte));
        }
        prost::encoding::decode_varint(&mut self.rest).map_err(|_| WireError("invalid varint"))
    }

    #[inline(always)]
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.rest.len() {
            return Err(WireError("truncated field"));
        }
        let (bytes, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(bytes)
    }

    /// The next field, `None` at the end of the message.
    #[inline]
    pub(crate) fn next_field(&mut self) -> Result<Option<Field<'a>>, WireError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let start = self.len - self.rest.len();
        let key = self.varint()?;
        // As prost: the key itself is a u32, so field numbers end at 2^29 - 1.
        let key = u32::try_from(key).map_err(|_| WireError("invalid key"))?;
        let number = key >> 3;
        if number == 0 {
            return Err(WireError("field number 0"));
        }
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                let bytes = self.take(8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(bytes);
                Value::I64(u64::from_le_bytes(le))
            }
            2 => {
                let len =
                    usize::try_from(self.varint()?).map_err(|_| WireError("length overflows"))?;
                Value::Len(self.take(len)?)
            }
            5 => {
                let bytes = self.take(4)?;
                let mut le = [0u8; 4];
                le.copy_from_slice(bytes);
                Value::I32(u32::from_le_bytes(le))
            }
            _ => return Err(WireError("unsupported wire type")),
        };
        Ok(Some(Field {
            number,
            value,
            start,
            end: self.len - self.rest.len(),
        }))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_field() {
            Ok(Some(field)) => Some(Ok(field)),
            Ok(None) => None,
            Err(error) => {
                // Stop after the first error.
                self.rest = &[];
                Some(Err(error))
            }
        }
    }
}

/// Appends a varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, value: u64) {
    prost::encoding::encode_varint(value, out);
}

/// Appends field `number` as a length-delimited value.
pub(crate) fn put_len(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_varint(out, (u64::from(number) << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_wire_type_and_rejects_the_malformed() {
        let mut message = Vec::new();
        put_varint(&mut message, 1 << 3);
        put_varint(&mut message, 300);
        put_varint(&mut message, (2 << 3) | 1);
        message.extend_from_slice(&7u64.to_le_bytes());
        put_len(&mut message, 3, b"abc");
        put_varint(&mut message, (4 << 3) | 5);
        message.extend_from_slice(&9u32.to_le_bytes());
        let fields: Vec<_> = Fields::new(&message).map(Result::unwrap).collect();
        let values: Vec<_> = fields.iter().map(|f| (f.number, f.value)).collect();
        assert_eq!(
            values,
            [
                (1, Value::Varint(300)),
                (2, Value::I64(7)),
                (3, Value::Len(b"abc")),
                (4, Value::I32(9))
            ]
        );
        assert_eq!(fields[2].start..fields[2].end, 12..17);
        for bad in [
            &[0x08][..],
            &[0x00, 0x01],
            &[0x1a, 0x05, b'a'],
            &[0x0b],
            &[0x09, 1, 2],
            &[0xff; 11],
            // A key over u32 (field number 2^29 + 5), which prost refuses.
            &[168, 128, 128, 128, 16, 0],
        ] {
            assert!(
                Fields::new(bad).any(|f| f.is_err()),
                "{bad:?} must be an error"
            );
        }
    }
}
