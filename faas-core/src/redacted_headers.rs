//! Export headers hold credentials (API keys, `Authorization`), so their values are never shown:
//! not in a configuration error, not in a log line, not in `Debug` output.
//!
//! [`parse_header_list`] reads an `OTEL_EXPORTER_OTLP_HEADERS`-style list; its errors carry
//! [`redact_header_list`] of the value (header names kept, values replaced by [`REDACTED`]) and
//! name entries by position. [`RedactedHeaders`] is the `Debug` of a parsed list.

use std::fmt;

use http::{HeaderName, HeaderValue};

use crate::error::ConfigError;

/// What stands in for a header value (or an entry that cannot be shown at all).
pub const REDACTED: &str = "<redacted>";

/// `Debug` of a header list with the names only: `{"x-api-key": "<redacted>"}`.
///
/// ```
/// use faas_core::config::RedactedHeaders;
///
/// let headers = vec![("x-api-key".to_owned(), "s3cr3t".to_owned())];
/// let shown = format!("{:?}", RedactedHeaders(&headers));
/// assert_eq!(shown, r#"{"x-api-key": "<redacted>"}"#);
/// ```
pub struct RedactedHeaders<'a>(pub &'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, REDACTED)))
            .finish()
    }
}

/// `value` (a `name=value,...` list) with every value replaced by [`REDACTED`]; a name that is
/// not a valid header name (it may be a pasted secret) is replaced too. Blank entries are left
/// out.
///
/// ```
/// use faas_core::config::redact_header_list;
///
/// assert_eq!(
///     redact_header_list("x-api-key=s3cr3t, Bearer abc, tenant=t1"),
///     "x-api-key=<redacted>,<redacted>,tenant=<redacted>"
/// );
/// ```
pub fn redact_header_list(value: &str) -> String {
    value
        .split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| match entry.split_once('=') {
            Some((name, _)) if shown_name(name.trim()).is_some() => {
                format!("{}={REDACTED}", name.trim())
            }
            _ => REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `name` when it is a valid HTTP header name (safe to show), else `None`.
fn shown_name(name: &str) -> Option<&str> {
    (!name.is_empty() && HeaderName::from_bytes(name.as_bytes()).is_ok()).then_some(name)
}

/// Parses `name=value,name2=value2` (values percent-encoded, blank entries skipped) into
/// header pairs whose names and values are valid HTTP. Errors name `variable`, hold
/// [`redact_header_list`] of `value` and say which entry is wrong, never what it holds.
pub(crate) fn parse_header_list(
    variable: &str,
    value: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let error = |reason: String| ConfigError::new(variable, redact_header_list(value), reason);
    let mut out = Vec::new();
    let entries = value.split(',').filter(|entry| !entry.trim().is_empty());
    for (index, entry) in entries.enumerate() {
        let n = index.saturating_add(1);
        let Some((name, val)) = entry.split_once('=') else {
            return Err(error(format!(
                "entry {n} has no '='; expected name=value (values percent-encoded)"
            )));
        };
        let name = name.trim();
        let Some(name) = shown_name(name) else {
            return Err(error(format!(
                "the name of entry {n} is not a valid HTTP header name"
            )));
        };
        let Some(decoded) = crate::strict_percent::percent_decode(val.trim()) else {
            return Err(error(format!(
                "the value of {name:?} has an invalid percent escape"
            )));
        };
        if HeaderValue::from_str(&decoded).is_err() {
            return Err(error(format!(
                "the value of {name:?} is not a valid HTTP header value"
            )));
        }
        out.push((name.to_owned(), decoded));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &str = "sk-live-8f14e45fceea167a";

    #[test]
    fn parses_percent_encoded_pairs() {
        let pairs = parse_header_list("H", " x-api-key=abc%3D%3D, ,tenant = t1 ").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("x-api-key".to_owned(), "abc==".to_owned()),
                ("tenant".to_owned(), "t1".to_owned())
            ]
        );
        assert_eq!(parse_header_list("H", "").unwrap(), vec![]);
    }

    #[test]
    fn no_error_shows_a_secret() {
        // (value, expected redacted value, expected reason)
        let cases: &[(String, &str, &str)] = &[
            (SECRET.to_owned(), "<redacted>", "entry 1 has no '='"),
            (
                format!("x-api-key={SECRET},{SECRET}"),
                "x-api-key=<redacted>,<redacted>",
                "entry 2 has no '='",
            ),
            (
                format!("Authorization: Bearer {SECRET}=x"),
                "<redacted>",
                "the name of entry 1 is not a valid HTTP header name",
            ),
            (
                format!("x-api-key={SECRET}%zz"),
                "x-api-key=<redacted>",
                "the value of \"x-api-key\" has an invalid percent escape",
            ),
            (
                format!("x-api-key={SECRET}%0A"),
                "x-api-key=<redacted>",
                "the value of \"x-api-key\" is not a valid HTTP header value",
            ),
            (
                format!("=={SECRET}"),
                "<redacted>",
                "the name of entry 1 is not a valid HTTP header name",
            ),
        ];
        for (value, redacted, reason) in cases {
            let err = parse_header_list("OTEL_EXPORTER_OTLP_HEADERS", value).unwrap_err();
            assert_eq!(err.variable, "OTEL_EXPORTER_OTLP_HEADERS");
            assert_eq!(&err.value, redacted, "{value}");
            assert!(err.reason.starts_with(reason), "{value}: {}", err.reason);
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains(SECRET), "{shown}");
                assert!(shown.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{shown}");
            }
        }
    }

    #[test]
    fn debug_shows_names_only() {
        let headers = vec![
            ("authorization".to_owned(), format!("Bearer {SECRET}")),
            ("x-team".to_owned(), "a".to_owned()),
        ];
        assert_eq!(
            format!("{:?}", RedactedHeaders(&headers)),
            r#"{"authorization": "<redacted>", "x-team": "<redacted>"}"#
        );
        assert_eq!(format!("{:?}", RedactedHeaders(&[])), "{}");
    }

    proptest::proptest! {
        #[test]
        fn a_value_never_reaches_the_error_or_the_debug(
            name in "[a-z][a-z0-9-]{0,12}",
            // An upper-case first letter: never part of a (lower-case) name.
            secret in "[A-Z][A-Za-z0-9]{11,23}",
            garbage in "[ -~]{0,8}",
        ) {
            // The secret as a value, followed by something that may break the list.
            let value = format!("{name}={secret}{garbage}");
            let shown = match parse_header_list("H", &value) {
                Ok(pairs) => format!("{:?}", RedactedHeaders(&pairs)),
                Err(err) => format!("{err} {err:?}"),
            };
            proptest::prop_assert!(!shown.contains(&secret), "{}", shown);
            proptest::prop_assert!(!redact_header_list(&value).contains(&secret));
        }
    }
}
