//! The self-metric [`DROPPED_METRIC`]: what the extension dropped, per signal.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};

use crate::buffer::Dropped;

/// The self-metric counting what the extension dropped (attribute `signal`).
pub(crate) const DROPPED_METRIC: &str = "faas_otel.extension.dropped";

/// The self-metric: a delta sum [`DROPPED_METRIC`] per signal with drops.
pub(crate) fn dropped_metric(dropped: Dropped) -> ExportMetricsServiceRequest {
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
mod tests {
    use super::*;

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
