//! Sends what the buffer holds to the upstream OTLP/HTTP endpoint.
//!
//! Requests are merged per signal into batches of at most [`MAX_BATCH_BYTES`], encoded as the
//! configured protocol, gzipped unless turned off, and sent with the configured headers over
//! rustls with compiled-in roots (no certificate file is read). Connection errors, 429 and
//! 5xx are retried with exponential backoff and jitter, honouring `Retry-After` (seconds or an
//! HTTP date), within the export's deadline. What could not be delivered goes back into the
//! buffer (within the memory cap; beyond it, dropped and counted). Other 4xx answers are not
//! retried: the data is dropped and counted, since sending it again cannot succeed.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use prost::Message;
use serde::Serialize;

use super::buffer::{Buffer, Dropped, point_count, record_count, span_count};
use super::config::{ExtensionConfig, Protocol};
use super::state::{Shared, lock};

/// Largest encoded batch sent in one request.
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// First retry delay; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The self-metric counting what the extension dropped (attribute `signal`).
pub const DROPPED_METRIC: &str = "faas_otel.extension.dropped";

/// What one export did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Requests sent upstream and answered 2xx.
    pub delivered_requests: u64,
    /// Spans delivered.
    pub delivered_spans: u64,
    /// Whether something is left in the buffer for a later export.
    pub left_over: bool,
}

/// The upstream client (built on first use: nothing on the cold-start path).
#[derive(Debug)]
pub struct Forwarder {
    client: OnceLock<Result<reqwest::Client, String>>,
    /// One export at a time (the lifecycle and the periodic exporter share the forwarder).
    exporting: tokio::sync::Mutex<()>,
}

impl Default for Forwarder {
    fn default() -> Self {
        Self::new()
    }
}

impl Forwarder {
    /// A forwarder; the HTTP client is built at the first export.
    pub fn new() -> Self {
        Self {
            client: OnceLock::new(),
            exporting: tokio::sync::Mutex::new(()),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok());
                reqwest::Client::builder()
                    .tls_certs_only(roots)
                    .pool_idle_timeout(Duration::from_secs(60))
                    .build()
                    .map_err(|e| format!("building the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Exports everything the buffer holds, within `deadline`.
    pub async fn export(&self, shared: &Shared, deadline: Instant) -> ExportReport {
        let _one_at_a_time = self.exporting.lock().await;
        let config = &shared.config;
        let mut taken = lock(&shared.buffer).take();
        // The drop counts travel in their own request, outside the capped buffer: re-buffered
        // with the data they count, they would themselves be dropped when the cap is reached.
        let unreported = std::mem::take(&mut lock(&shared.buffer).unreported);
        let mut report = ExportReport::default();
        let mut left = Buffer::new(usize::MAX);

        for batch in batches(std::mem::take(&mut taken.traces), merge_traces) {
            let spans = span_count(&batch);
            match self.send(config, "/v1/traces", &batch, deadline).await {
                Sent::Delivered => {
                    report.delivered_requests += 1;
                    report.delivered_spans += spans;
                }
                Sent::Retry => {
                    left.traces.push(batch);
                }
                Sent::Rejected => {
                    let mut buffer = lock(&shared.buffer);
                    buffer.dropped.spans += spans;
                    buffer.unreported.spans += spans;
                }
            }
        }
        for batch in batches(std::mem::take(&mut taken.metrics), merge_metrics) {
            match self.send(config, "/v1/metrics", &batch, deadline).await {
                Sent::Delivered => report.delivered_requests += 1,
                Sent::Retry => left.metrics.push(batch),
                Sent::Rejected => {
                    let n = point_count(&batch);
                    let mut buffer = lock(&shared.buffer);
                    buffer.dropped.points += n;
                    buffer.unreported.points += n;
                }
            }
        }
        for batch in batches(std::mem::take(&mut taken.logs), merge_logs) {
            match self.send(config, "/v1/logs", &batch, deadline).await {
                Sent::Delivered => report.delivered_requests += 1,
                Sent::Retry => left.logs.push(batch),
                Sent::Rejected => {
                    let n = record_count(&batch);
                    let mut buffer = lock(&shared.buffer);
                    buffer.dropped.records += n;
                    buffer.unreported.records += n;
                }
            }
        }
        if unreported != Dropped::default() {
            match self
                .send(config, "/v1/metrics", &dropped_metric(unreported), deadline)
                .await
            {
                Sent::Delivered => report.delivered_requests += 1,
                Sent::Retry => {
                    let mut buffer = lock(&shared.buffer);
                    buffer.unreported.spans += unreported.spans;
                    buffer.unreported.points += unreported.points;
                    buffer.unreported.records += unreported.records;
                }
                Sent::Rejected => {}
            }
        }
        if !left.is_empty() {
            report.left_over = true;
            let mut buffer = lock(&shared.buffer);
            let mut dropped = 0;
            for request in left.traces {
                dropped += buffer.push_traces(request);
            }
            for request in left.metrics {
                buffer.push_metrics(request);
            }
            for request in left.logs {
                buffer.push_logs(request);
            }
            if dropped > 0 {
                eprintln!(
                    "faas-otel-extension: upstream unavailable and memory cap reached: {dropped} spans dropped"
                );
            }
        }
        report
    }

    async fn send<T: Message + Serialize>(
        &self,
        config: &ExtensionConfig,
        path: &str,
        request: &T,
        deadline: Instant,
    ) -> Sent {
        let client = match self.client() {
            Ok(client) => client,
            Err(error) => {
                eprintln!("faas-otel-extension: {error}");
                return Sent::Retry;
            }
        };
        let (content_type, mut body) = match config.protocol {
            Protocol::Protobuf => ("application/x-protobuf", request.encode_to_vec()),
            Protocol::Json => (
                "application/json",
                serde_json::to_vec(request).unwrap_or_default(),
            ),
        };
        if config.gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            if encoder.write_all(&body).is_ok()
                && let Ok(compressed) = encoder.finish()
            {
                body = compressed;
            }
        }
        let url = format!("{}{path}", config.endpoint);
        let mut backoff = FIRST_BACKOFF;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let now = Instant::now();
            if now >= deadline {
                return Sent::Retry;
            }
            let mut builder = client
                .post(&url)
                .timeout(deadline - now)
                .header("content-type", content_type)
                .body(body.clone());
            if config.gzip {
                builder = builder.header("content-encoding", "gzip");
            }
            for (name, value) in &config.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let wait = match builder.send().await {
                Ok(response) if response.status().is_success() => return Sent::Delivered,
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status != 429 && !(500..600).contains(&status) {
                        eprintln!(
                            "faas-otel-extension: upstream {path} answered {status}; not retried, data dropped"
                        );
                        return Sent::Rejected;
                    }
                    retry_after(response.headers()).unwrap_or(backoff)
                }
                Err(error) => {
                    if attempt == 1 {
                        eprintln!("faas-otel-extension: upstream {path}: {error}; retrying");
                    }
                    backoff
                }
            };
            let wait = jitter(wait);
            if Instant::now() + wait >= deadline {
                return Sent::Retry;
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

enum Sent {
    Delivered,
    Retry,
    Rejected,
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate_to_system_time(value)?;
    Some(date.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate_to_system_time(text: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').filter_map(|x| x.parse().ok()).collect();
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + m * 60 + s;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Up to +25 % of `wait`, from the clock's low bits (no RNG dependency needed).
fn jitter(wait: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    wait + wait.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

fn batches<T: Message>(requests: Vec<T>, merge: fn(&mut T, T)) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for request in requests {
        match out.last_mut() {
            Some(last) if last.encoded_len() + request.encoded_len() <= MAX_BATCH_BYTES => {
                merge(last, request)
            }
            _ => out.push(request),
        }
    }
    out
}

fn merge_traces(into: &mut ExportTraceServiceRequest, from: ExportTraceServiceRequest) {
    into.resource_spans.extend(from.resource_spans);
}

fn merge_metrics(into: &mut ExportMetricsServiceRequest, from: ExportMetricsServiceRequest) {
    into.resource_metrics.extend(from.resource_metrics);
}

fn merge_logs(into: &mut ExportLogsServiceRequest, from: ExportLogsServiceRequest) {
    into.resource_logs.extend(from.resource_logs);
}

/// The self-metric: a delta sum [`DROPPED_METRIC`] per signal with drops.
fn dropped_metric(dropped: Dropped) -> ExportMetricsServiceRequest {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let points = [
        ("spans", dropped.spans),
        ("metric_points", dropped.points),
        ("log_records", dropped.records),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(signal, n)| NumberDataPoint {
        attributes: vec![KeyValue {
            key: "signal".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(signal.into())),
            }),
            ..KeyValue::default()
        }],
        time_unix_nano: now,
        value: Some(number_data_point::Value::AsInt(n as i64)),
        ..NumberDataPoint::default()
    })
    .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "faas-otel-extension".into(),
                    ..InstrumentationScope::default()
                }),
                metrics: vec![Metric {
                    name: DROPPED_METRIC.into(),
                    description:
                        "Telemetry the extension dropped (memory cap or rejected upstream)".into(),
                    unit: "{item}".into(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: points,
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                        is_monotonic: true,
                    })),
                    ..Metric::default()
                }],
                ..ScopeMetrics::default()
            }],
            ..ResourceMetrics::default()
        }],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        assert_eq!(
            httpdate_to_system_time("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        headers.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a past date: now"
        );
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn the_dropped_metric_counts_per_signal() {
        let request = dropped_metric(Dropped {
            spans: 7,
            points: 0,
            records: 2,
        });
        let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
        assert_eq!(metric.name, DROPPED_METRIC);
        let Some(metric::Data::Sum(sum)) = &metric.data else {
            panic!("a sum")
        };
        let values: Vec<_> = sum.data_points.iter().map(|p| p.value).collect();
        assert_eq!(
            values,
            vec![
                Some(number_data_point::Value::AsInt(7)),
                Some(number_data_point::Value::AsInt(2))
            ]
        );
    }
}
