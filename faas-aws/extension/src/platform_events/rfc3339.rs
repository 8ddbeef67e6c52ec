//! [`parse_rfc3339`]: the Telemetry API's `time` fields (`2022-10-21T14:05:03.165Z`), read with
//! chrono.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::DateTime;

/// Parses an RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, with chrono's
/// [`DateTime::parse_from_rfc3339`].
///
/// Strict: every field has its exact number of digits and is in range (the day for its month,
/// February 29 only in leap years), `T` and `Z` may be lower case, the fraction has at least one
/// digit (digits past nanoseconds are ignored), and nothing may follow the offset. A leap second
/// (`:60`) counts as the first second of the next minute. Returns `None` for anything else.
///
/// The one check done by hand: chrono also accepts a space between date and time (which RFC
/// 3339 allows applications to agree on); the Telemetry API always sends `T`, so anything else
/// is refused as before.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    let time = DateTime::parse_from_rfc3339(text).ok()?;
    // Checked arithmetic rather than `SystemTime::from`, which panics where `SystemTime` is
    // narrower than chrono's range. A leap second's nanoseconds (1e9 and over) carry over.
    let seconds = time.timestamp();
    let whole = if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    }?;
    whole.checked_add(Duration::from_nanos(u64::from(
        time.timestamp_subsec_nanos(),
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn nanos_since_epoch(text: &str) -> Option<i128> {
        parse_rfc3339(text).map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        })
    }

    #[test]
    fn valid_timestamps() {
        // Expected values computed with Python's datetime.fromisoformat(...).timestamp().
        for (text, expected) in [
            ("1970-01-01T00:00:00Z", 0i128),
            ("2022-10-21T14:05:03.165Z", 1_666_361_103_165_000_000),
            ("2023-11-28T12:00:09Z", 1_701_172_809_000_000_000),
            ("2000-02-29T23:59:59Z", 951_868_799_000_000_000),
            ("2024-06-30T10:00:00.5-07:30", 1_719_768_600_500_000_000),
            ("2022-10-21t14:05:03.165z", 1_666_361_103_165_000_000),
            ("2022-10-21T16:05:03.165+02:00", 1_666_361_103_165_000_000),
            ("1970-01-01T00:00:00.000000001Z", 1),
            ("1970-01-01T00:00:00.1234567899Z", 123_456_789),
            ("1969-12-31T23:59:59.5Z", -500_000_000),
            ("2016-12-31T23:59:60Z", 1_483_228_800_000_000_000),
        ] {
            assert_eq!(nanos_since_epoch(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn invalid_timestamps() {
        for text in [
            "",
            "2022-10-21",
            "2022-10-21T14:05:03",
            "2022-10-21 14:05:03Z",
            "2022-10-21T14:05:03.Z",
            "2022-10-21T14:05:03.165",
            "2022-10-21T14:05:03.165Z ",
            "2022-10-21T14:05:03+0200",
            "2022-10-21T14:05:03+24:00",
            "2022-13-01T00:00:00Z",
            "2022-00-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2022-04-31T00:00:00Z",
            "2022-10-21T24:00:00Z",
            "2022-10-21T14:60:00Z",
            "2022-10-21T14:05:61Z",
            "22-10-21T14:05:03Z",
            "2022-1-21T14:05:03Z",
            "+022-10-21T14:05:03Z",
            "2022-10-21T14:05:03ZZ",
            "２０２２-10-21T14:05:03Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text:?}");
        }
    }
}
