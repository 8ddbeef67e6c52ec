//! The `Lambda-Runtime-Trace-Id` header: an X-Ray trace header built the way Lambda builds it.
//!
//! Given a W3C `traceparent` the emulator carries its trace id, parent span id and sampled flag
//! over (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`), as Lambda does for a caller
//! that sent `X-Amzn-Trace-Id`; a header that already is an X-Ray header (`Root=...`) is passed
//! through. Without one, Lambda starts a new trace: sampled when active tracing is on, not
//! sampled (`Sampled=0`, tracing mode PassThrough, Lambda's default) otherwise.

use crate::ids;

/// The X-Ray header for an invocation: from `given` (a `traceparent` or an X-Ray header) when it
/// parses, else a new root sampled only if `active_tracing`.
pub fn trace_header(given: Option<&str>, active_tracing: bool) -> String {
    if let Some(given) = given.map(str::trim).filter(|g| !g.is_empty()) {
        if given.starts_with("Root=") {
            return given.to_string();
        }
        if let Some(header) = from_traceparent(given) {
            return header;
        }
    }
    let seconds = ids::epoch_ms(std::time::SystemTime::now()) / 1000;
    let random = format!("{:016x}{:08x}", ids::random_u64(), ids::random_u64() >> 32);
    format!(
        "Root=1-{:08x}-{random};Parent={};Sampled={}",
        seconds & 0xffff_ffff,
        ids::span_id(),
        u8::from(active_tracing)
    )
}

/// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` as an X-Ray header.
fn from_traceparent(traceparent: &str) -> Option<String> {
    let parts: Vec<&str> = traceparent.split('-').collect();
    let [version, trace_id, span_id, flags] = parts.as_slice() else {
        return None;
    };
    let hex = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
    if !hex(version, 2)
        || *version == "ff"
        || !hex(trace_id, 32)
        || !hex(span_id, 16)
        || !hex(flags, 2)
    {
        return None;
    }
    if trace_id.chars().all(|c| c == '0') || span_id.chars().all(|c| c == '0') {
        return None;
    }
    let sampled = u8::from_str_radix(flags, 16).ok()? & 1;
    let trace_id = trace_id.to_ascii_lowercase();
    Some(format!(
        "Root=1-{}-{};Parent={};Sampled={sampled}",
        &trace_id[..8],
        &trace_id[8..],
        span_id.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_a_traceparent_over() {
        assert_eq!(
            trace_header(
                Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
                false
            ),
            "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1"
        );
        assert_eq!(
            trace_header(
                Some("00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-00"),
                true
            ),
            "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=0"
        );
    }

    #[test]
    fn passes_xray_headers_through() {
        let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(trace_header(Some(xray), false), xray);
    }

    #[test]
    fn starts_a_new_trace_without_a_usable_header() {
        for given in [
            None,
            Some("garbage"),
            Some("00-00000000000000000000000000000000-b7ad6b7169203331-01"),
        ] {
            let passive = trace_header(given, false);
            assert!(passive.starts_with("Root=1-"), "{passive}");
            assert!(passive.ends_with(";Sampled=0"), "{passive}");
            let root = passive
                .trim_start_matches("Root=")
                .split(';')
                .next()
                .unwrap_or_default();
            assert_eq!(root.len(), 35, "{passive}");
        }
        assert!(trace_header(None, true).ends_with(";Sampled=1"));
    }
}
