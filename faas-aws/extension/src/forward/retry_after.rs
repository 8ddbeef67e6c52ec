//! [`retry_after`]: the upstream's `Retry-After` header, read with `httpdate`, clamped to the
//! time left before the export's deadline.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// `Retry-After` as a wait: delay-seconds (however many digits) or an HTTP date (zero when in
/// the past), never longer than `limit` (the time left before the invocation's or the
/// SHUTDOWN deadline: a longer wait cannot be honoured anyway, and clamping keeps every
/// later `Instant` arithmetic in range for values such as `18446744073709551615`); `None` when
/// absent or neither.
pub(crate) fn retry_after(headers: &HeaderMap, limit: Duration) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: too many for a u64 is still a (very long) number of seconds.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(limit));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or_default()
            .min(limit),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const HOUR: Duration = Duration::from_secs(3600);

    fn retry_after_h(headers: &HeaderMap) -> Option<Duration> {
        retry_after(headers, HOUR)
    }

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", value.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after_h(&with("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").ok(),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(
            retry_after_h(&with("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO),
            "a past date: now"
        );
        assert_eq!(retry_after_h(&with("soon")), None);
        assert_eq!(retry_after_h(&HeaderMap::new()), None);
        let ahead = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let wait = retry_after_h(&with(&ahead)).unwrap();
        assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28));
    }

    #[test]
    fn overflowing_seconds_are_clamped_not_a_panic() {
        for huge in [
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999",
        ] {
            assert_eq!(retry_after_h(&with(huge)), Some(HOUR), "{huge}");
        }
        let far = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(253_402_300_799));
        assert_eq!(retry_after_h(&with(&far)), Some(HOUR));
    }

    #[test]
    fn the_wait_is_clamped_to_the_limit_given() {
        let limit = Duration::from_millis(1500);
        assert_eq!(
            retry_after(&with("18446744073709551615"), limit),
            Some(limit)
        );
        assert_eq!(retry_after(&with("1"), limit), Some(Duration::from_secs(1)));
        assert_eq!(
            retry_after(&with("1"), Duration::ZERO),
            Some(Duration::ZERO)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_header_value_gives_at_most_the_limit(
            value in "[ -~]{0,40}",
            limit_ms in 0u64..=u64::MAX,
        ) {
            let limit = Duration::from_millis(limit_ms);
            if let Ok(header) = value.parse() {
                let mut headers = HeaderMap::new();
                headers.insert("retry-after", header);
                if let Some(wait) = retry_after(&headers, limit) {
                    proptest::prop_assert!(wait <= limit);
                }
            }
        }

        #[test]
        fn seconds_of_any_length_are_read_and_clamped(digits in "[0-9]{1,40}") {
            let wait = retry_after(&with(&digits), HOUR).unwrap();
            let expected = digits
                .parse::<u64>()
                .map_or(HOUR, |s| Duration::from_secs(s).min(HOUR));
            proptest::prop_assert_eq!(wait, expected);
        }

        #[test]
        fn http_dates_round_trip_to_a_wait(ahead in 0u64..=1_000_000_000) {
            let now = SystemTime::now();
            let at = now + Duration::from_secs(ahead);
            let wait = retry_after(&with(&httpdate::fmt_http_date(at)), Duration::MAX).unwrap();
            // The date has whole seconds; the wait is measured from a later now.
            proptest::prop_assert!(wait <= Duration::from_secs(ahead));
            proptest::prop_assert!(wait + Duration::from_secs(2) >= Duration::from_secs(ahead));
        }
    }
}
