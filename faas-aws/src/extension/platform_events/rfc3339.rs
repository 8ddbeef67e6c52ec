//! A small, strict parser of RFC 3339 timestamps, the format of the Telemetry API's `time`
//! fields (`2022-10-21T14:05:03.165Z`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;

/// Parses an RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
///
/// Strict: every field must have its exact number of digits and be in range (the day for its
/// month, February 29 only in leap years), `T` and `Z` may be lower case, the fraction has at
/// least one digit (digits past nanoseconds are ignored), and nothing may follow the offset. A
/// leap second (`:60`) is accepted and counts as the first second of the next minute. Returns
/// `None` for anything else, including times that `SystemTime` cannot hold.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't')) {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }

    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let first = i;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - first < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            i += 1;
        }
        let count = i - first;
        if count == 0 {
            return None;
        }
        for _ in count..9 {
            nanos *= 10;
        }
    }

    let offset_seconds: i64 = match b.get(i) {
        Some(b'Z' | b'z') if b.len() == i + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 => {
            let oh = digits(b, i + 1, 2)?;
            expect(b, i + 3, b':')?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let magnitude = oh * 3600 + om * 60;
            if *sign == b'+' { magnitude } else { -magnitude }
        }
        _ => return None,
    };

    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
            - offset_seconds;
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(u64::try_from(seconds).ok()?, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(seconds.unsigned_abs()))?
            .checked_add(Duration::from_nanos(u64::from(nanos)))
    }
}

/// `len` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let slice = b.get(at..at + len)?;
    slice.iter().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
