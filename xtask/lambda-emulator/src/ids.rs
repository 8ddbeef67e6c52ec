//! Identifiers and timestamps in the shapes Lambda uses: request ids (UUID v4, from `uuid`),
//! X-Ray trace and span ids, ISO 8601 UTC times with milliseconds (from `chrono`), epoch
//! milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

/// 64 random bits. A v4 UUID carries 122 random bits; the two halves XORed cover each other's
/// fixed version and variant bits.
pub fn random_u64() -> u64 {
    let (hi, lo) = Uuid::new_v4().as_u64_pair();
    hi ^ lo
}

/// A UUID v4 in its text form, as Lambda request ids and extension identifiers are.
pub fn uuid() -> String {
    Uuid::new_v4().to_string()
}

/// 16 lower-case hex digits that are not all zero (an X-Ray / W3C span id).
pub fn span_id() -> String {
    format!("{:016x}", random_u64() | 1)
}

/// Milliseconds since the Unix epoch of `time`.
pub fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// `time` as ISO 8601 UTC with milliseconds, `2026-11-05T12:34:56.789Z` (the Telemetry API's
/// `time` field).
pub fn iso8601(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn uuids_are_v4_text_and_distinct() {
        let a = uuid();
        let b = uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'), "{a}");
        assert!(matches!(&groups[3][..1], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn formats_iso8601_utc() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_123); // 2024-02-29T23:59:59.123Z
        assert_eq!(iso8601(t), "2024-02-29T23:59:59.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(iso8601(t), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn span_ids_are_16_hex_digits() {
        let id = span_id();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
