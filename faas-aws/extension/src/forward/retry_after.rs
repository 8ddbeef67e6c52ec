//! [`retry_after`]: the upstream's `Retry-After` header, read with `httpdate`.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// The longest `Retry-After` honoured. Any longer wait is past every export deadline anyway
/// (the export is then left for later); clamping keeps the deadline arithmetic from overflowing
/// on values such as `18446744073709551615`.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` as a wait: delay-seconds (clamped to [`MAX_RETRY_AFTER`], however many digits)
/// or an HTTP date (zero when in the past); `None` when absent or neither.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: too many for a u64 is still a (very long) number of seconds.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or_default()
            .min(MAX_RETRY_AFTER),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", value.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after(&with("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").ok(),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(
            retry_after(&with("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO),
            "a past date: now"
        );
        assert_eq!(retry_after(&with("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
        let ahead = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let wait = retry_after(&with(&ahead)).unwrap();
        assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28));
    }

    #[test]
    fn overflowing_seconds_are_clamped_not_a_panic() {
        for huge in [
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999",
        ] {
            assert_eq!(retry_after(&with(huge)), Some(MAX_RETRY_AFTER), "{huge}");
        }
        let far = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(253_402_300_799));
        assert_eq!(retry_after(&with(&far)), Some(MAX_RETRY_AFTER));
    }
}
