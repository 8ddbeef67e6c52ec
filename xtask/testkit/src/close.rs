//! [`assert_close`]: float equality within a relative tolerance, for prices and rates that
//! are computed, not literal.

/// Asserts that `actual` equals `expected` within one part in 10¹² of `expected` (the rounding
/// of a few float operations), naming both on failure.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= expected.abs() * 1e-12,
        "{actual} != {expected}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_passes_and_a_real_difference_fails() {
        assert_close(0.1 + 0.2, 0.3);
        assert_close(0.0, 0.0);
        assert!(std::panic::catch_unwind(|| assert_close(0.3001, 0.3)).is_err());
    }
}
