//! The FaaS metrics computed from platform reports, accumulated between two takes and
//! exported with delta temporality.

use std::time::SystemTime;

use faas_core::attributes::semconv::metric as m;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint, Sum, metric,
    number_data_point,
};

use crate::otlp::unix_nanos;

/// Bucket bounds of `faas.invoke_duration` and `faas.init_duration`, in seconds: the HTTP
/// duration buckets of the semantic conventions, extended to Lambda's 900 s limit.
pub(crate) const DURATION_BOUNDS_S: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
    300.0, 900.0,
];

const MIB: f64 = 1_048_576.0;

/// Bucket bounds of `faas.mem_usage`, in bytes: 64 MiB to 10,240 MiB (Lambda's maximum).
pub(crate) const MEMORY_BOUNDS_BYTES: &[f64] = &[
    64.0 * MIB,
    128.0 * MIB,
    256.0 * MIB,
    512.0 * MIB,
    1024.0 * MIB,
    2048.0 * MIB,
    4096.0 * MIB,
    8192.0 * MIB,
    10240.0 * MIB,
];

/// An explicit-bucket histogram being accumulated.
#[derive(Debug, Clone)]
struct Buckets {
    bounds: &'static [f64],
    counts: Vec<u64>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Buckets {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn record(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        // OTLP buckets are upper-inclusive: bucket i holds (bounds[i-1], bounds[i]].
        let index = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        self.counts[index] += 1;
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    fn point(&self, start: u64, end: u64) -> HistogramDataPoint {
        HistogramDataPoint {
            attributes: Vec::new(),
            start_time_unix_nano: start,
            time_unix_nano: end,
            count: self.count,
            sum: Some(self.sum),
            bucket_counts: self.counts.clone(),
            explicit_bounds: self.bounds.to_vec(),
            exemplars: Vec::new(),
            flags: 0,
            min: Some(self.min),
            max: Some(self.max),
        }
    }
}

/// What the platform reported since the last take.
#[derive(Debug, Clone)]
pub(crate) struct MetricsWindow {
    invoke_duration: Buckets,
    init_duration: Buckets,
    mem_usage: Buckets,
    errors: u64,
    timeouts: u64,
    coldstarts: u64,
    recorded: bool,
    start: Option<SystemTime>,
    last: Option<SystemTime>,
}

impl Default for MetricsWindow {
    fn default() -> Self {
        Self {
            invoke_duration: Buckets::new(DURATION_BOUNDS_S),
            init_duration: Buckets::new(DURATION_BOUNDS_S),
            mem_usage: Buckets::new(MEMORY_BOUNDS_BYTES),
            errors: 0,
            timeouts: 0,
            coldstarts: 0,
            recorded: false,
            start: None,
            last: None,
        }
    }
}

/// One invocation as the metrics see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InvocationSample {
    /// `durationMs` of the report, in seconds.
    pub(crate) duration_s: f64,
    /// `maxMemoryUsedMB` in bytes (`None` when the report has none, as on Lambda Managed
    /// Instances).
    pub(crate) max_memory_used_bytes: Option<u64>,
    /// Status `error`, `failure` or unknown.
    pub(crate) error: bool,
    /// Status `timeout`.
    pub(crate) timeout: bool,
    /// The report carried `initDurationMs` or `restoreDurationMs`.
    pub(crate) coldstart: bool,
}

impl MetricsWindow {
    fn touch(&mut self, time: SystemTime) {
        self.recorded = true;
        if self.start.is_none() {
            self.start = Some(time);
        }
        self.last = Some(self.last.map_or(time, |last| last.max(time)));
    }

    /// Records one `platform.report`, at its time.
    pub(crate) fn record_invocation(&mut self, time: SystemTime, sample: InvocationSample) {
        self.touch(time);
        self.invoke_duration.record(sample.duration_s);
        if let Some(bytes) = sample.max_memory_used_bytes {
            self.mem_usage.record(bytes as f64);
        }
        self.errors += u64::from(sample.error);
        self.timeouts += u64::from(sample.timeout);
        self.coldstarts += u64::from(sample.coldstart);
    }

    /// Records one initialization (or restore) of `duration_s`, reported at `time`.
    pub(crate) fn record_init(&mut self, time: SystemTime, duration_s: f64) {
        self.touch(time);
        self.init_duration.record(duration_s);
    }

    /// The metrics of the window, and a new window starting where this one ended; `None` when
    /// nothing was recorded.
    ///
    /// The window runs from the end of the previous one (the first window: from the first
    /// event recorded) to the latest event recorded. Histograms without a value are left out;
    /// the three counters are always present, zero included.
    pub(crate) fn take(&mut self) -> Option<Vec<Metric>> {
        if !self.recorded {
            return None;
        }
        let start = self.start.or(self.last)?;
        let end = self.last.map_or(start, |last| last.max(start));
        let (start_ns, end_ns) = (unix_nanos(start), unix_nanos(end));
        let window = std::mem::take(self);
        self.start = Some(end);

        let histogram = |name: &str, unit: &str, description: &str, b: &Buckets| Metric {
            name: name.to_owned(),
            description: description.to_owned(),
            unit: unit.to_owned(),
            metadata: Vec::new(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points: vec![b.point(start_ns, end_ns)],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            })),
        };
        let counter = |name: &str, unit: &str, description: &str, value: u64| Metric {
            name: name.to_owned(),
            description: description.to_owned(),
            unit: unit.to_owned(),
            metadata: Vec::new(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    attributes: Vec::new(),
                    start_time_unix_nano: start_ns,
                    time_unix_nano: end_ns,
                    exemplars: Vec::new(),
                    flags: 0,
                    value: Some(number_data_point::Value::AsInt(
                        i64::try_from(value).unwrap_or(i64::MAX),
                    )),
                }],
                aggregation_temporality: AggregationTemporality::Delta as i32,
                is_monotonic: true,
            })),
        };

        let mut metrics = Vec::new();
        if window.invoke_duration.count > 0 {
            metrics.push(histogram(
                m::FAAS_INVOKE_DURATION,
                "s",
                "Measures the duration of the function's logic execution",
                &window.invoke_duration,
            ));
        }
        if window.init_duration.count > 0 {
            metrics.push(histogram(
                m::FAAS_INIT_DURATION,
                "s",
                "Measures the duration of the function's initialization, such as a cold start",
                &window.init_duration,
            ));
        }
        if window.mem_usage.count > 0 {
            metrics.push(histogram(
                m::FAAS_MEM_USAGE,
                "By",
                "Distribution of max memory usage per invocation",
                &window.mem_usage,
            ));
        }
        metrics.push(counter(
            m::FAAS_ERRORS,
            "{error}",
            "Number of invocation errors",
            window.errors,
        ));
        metrics.push(counter(
            m::FAAS_TIMEOUTS,
            "{timeout}",
            "Number of invocation timeouts",
            window.timeouts,
        ));
        metrics.push(counter(
            m::FAAS_COLDSTARTS,
            "{coldstart}",
            "Number of invocation cold starts",
            window.coldstarts,
        ));
        Some(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn buckets_are_upper_inclusive() {
        let mut b = Buckets::new(&[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 2.0, 3.0, f64::NAN] {
            b.record(v);
        }
        assert_eq!(b.counts, vec![2, 2, 1]);
        assert_eq!(b.count, 5);
        assert_eq!(b.sum, 8.0);
        assert_eq!((b.min, b.max), (0.5, 3.0));
    }

    #[test]
    fn windows_are_contiguous_and_empty_ones_are_skipped() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let mut w = MetricsWindow::default();
        assert!(w.take().is_none());
        w.record_init(t(10), 0.2);
        w.record_invocation(
            t(12),
            InvocationSample {
                duration_s: 0.1,
                max_memory_used_bytes: Some(1),
                error: true,
                timeout: false,
                coldstart: true,
            },
        );
        let first = w.take().unwrap_or_default();
        assert_eq!(first.len(), 6);
        assert!(w.take().is_none());
        w.record_invocation(
            t(20),
            InvocationSample {
                duration_s: 0.1,
                max_memory_used_bytes: Some(1),
                error: false,
                timeout: true,
                coldstart: false,
            },
        );
        let second = w.take().unwrap_or_default();
        let names: Vec<&str> = second.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "faas.invoke_duration",
                "faas.mem_usage",
                "faas.errors",
                "faas.timeouts",
                "faas.coldstarts"
            ]
        );
        let Some(metric::Data::Histogram(h)) = &second[0].data else {
            panic!("not a histogram")
        };
        assert_eq!(h.data_points[0].start_time_unix_nano, 12_000_000_000);
        assert_eq!(h.data_points[0].time_unix_nano, 20_000_000_000);
    }
}
