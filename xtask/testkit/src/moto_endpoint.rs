//! The moto contract of `cargo xtask test`: it starts moto once for the whole run and passes
//! its URL in `FAAS_OTEL_TEST_MOTO_ENDPOINT`.

use std::io::Write as _;

/// The variable `cargo xtask test` sets to moto's base URL.
pub const MOTO_ENDPOINT_VAR: &str = "FAAS_OTEL_TEST_MOTO_ENDPOINT";

/// Moto's endpoint, or `None` after a visible "SKIPPED" line on stderr (past the test
/// harness's capture, so it is seen).
///
/// # Panics
///
/// When the variable is unset and `CI=true`: CI must never pass without running the test.
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var(MOTO_ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.trim().is_empty() => Some(endpoint.trim().to_owned()),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
            assert!(
                !ci,
                "{test}: {MOTO_ENDPOINT_VAR} is not set and CI=true: run the tests with `cargo xtask test`"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {MOTO_ENDPOINT_VAR} is not set; run `cargo xtask test` (it starts moto) to run this test"
            );
            None
        }
    }
}
