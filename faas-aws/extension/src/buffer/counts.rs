//! [`span_count`]: how many spans a held trace request holds.

use super::held::Held;

/// Spans in a held trace request.
pub(crate) fn span_count(held: &Held) -> u64 {
    held.items()
}
