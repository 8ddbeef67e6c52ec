//! Strict percent-decoding of configuration values.

/// Percent-decodes `s` strictly: `percent-encoding` keeps a malformed escape as it is, but a bad
/// escape in a configuration value is a mistake to report, so every `%` must start one first.
/// `None` for a malformed escape or a result that is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode(bytes)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}
