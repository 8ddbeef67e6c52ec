//! Order statistics of a sample of durations, and the ratios the report prints.

use std::time::Duration;

/// Median, p99 and friends of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of observations.
    pub n: usize,
    /// Median, microseconds.
    pub median_us: f64,
    /// 99th percentile (nearest rank), microseconds.
    pub p99_us: f64,
    /// Smallest, microseconds.
    pub min_us: f64,
    /// Largest, microseconds.
    pub max_us: f64,
}

impl Summary {
    /// Summarizes `sample`; `None` when it is empty.
    pub fn of(sample: &[Duration]) -> Option<Self> {
        let mut us: Vec<f64> = sample.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        if us.is_empty() {
            return None;
        }
        us.sort_by(f64::total_cmp);
        Some(Self {
            n: us.len(),
            median_us: median_sorted(&us),
            p99_us: percentile_sorted(&us, 99.0),
            min_us: us[0],
            max_us: us[us.len() - 1],
        })
    }
}

/// The median of sorted values (mean of the two middle ones for an even count).
pub fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The `p`th percentile of sorted values by the nearest-rank method.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `value / baseline` as text, `×1.23`; `n/a` when the baseline is zero or not finite.
pub fn ratio(value: f64, baseline: f64) -> String {
    if baseline.is_finite() && baseline > 0.0 && value.is_finite() {
        format!("×{:.2}", value / baseline)
    } else {
        "n/a".into()
    }
}

/// Microseconds as the report prints them: `812 µs`, `1.25 ms`, `5.00 s`.
pub fn fmt_us(us: f64) -> String {
    if !us.is_finite() {
        "n/a".into()
    } else if us.abs() >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us.abs() >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

/// A signed difference in microseconds: `+12 µs`, `-0.40 ms`.
pub fn fmt_delta_us(us: f64) -> String {
    if us.is_finite() && us >= 0.0 {
        format!("+{}", fmt_us(us))
    } else if us.is_finite() {
        format!("-{}", fmt_us(-us))
    } else {
        "n/a".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_micros(*v)).collect()
    }

    #[test]
    fn medians_and_percentiles() {
        let s = Summary::of(&us(&[5, 1, 3])).unwrap_or_else(|| panic!("empty"));
        assert_eq!(
            (s.n, s.median_us, s.min_us, s.max_us, s.p99_us),
            (3, 3.0, 1.0, 5.0, 5.0)
        );
        let s = Summary::of(&us(&[4, 1, 3, 2])).unwrap_or_else(|| panic!("empty"));
        assert_eq!(s.median_us, 2.5);
        let hundred: Vec<u64> = (1..=100).collect();
        let s = Summary::of(&us(&hundred)).unwrap_or_else(|| panic!("empty"));
        assert_eq!((s.median_us, s.p99_us), (50.5, 99.0));
        let thousand: Vec<u64> = (1..=1000).rev().collect();
        let s = Summary::of(&us(&thousand)).unwrap_or_else(|| panic!("empty"));
        assert_eq!(s.p99_us, 990.0);
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn formats_ratios_and_durations() {
        assert_eq!(ratio(150.0, 100.0), "×1.50");
        assert_eq!(ratio(1.0, 0.0), "n/a");
        assert_eq!(fmt_us(812.4), "812 µs");
        assert_eq!(fmt_us(1250.0), "1.25 ms");
        assert_eq!(fmt_us(5_000_000.0), "5.00 s");
        assert_eq!(fmt_delta_us(12.0), "+12 µs");
        assert_eq!(fmt_delta_us(-400.0), "-400 µs");
        assert_eq!(fmt_delta_us(f64::NAN), "n/a");
    }
}
