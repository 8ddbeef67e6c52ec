//! The self-metric [`DROPPED_METRIC`]: what the extension dropped, per signal and reason.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};

use crate::drops::{DropReason, Signal};

/// The self-metric counting what the extension dropped (attributes `signal` and
/// [`REASON_ATTRIBUTE`]).
pub(crate) const DROPPED_METRIC: &str = "faas_otel.extension.dropped";

/// The attribute saying why ([`DropReason::as_str`]).
pub(crate) const REASON_ATTRIBUTE: &str = "faas_otel.drop_reason";

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

/// The self-metric: a delta sum [`DROPPED_METRIC`], one point per signal and reason with
/// drops.
pub(crate) fn dropped_metric(dropped: &[(Signal, DropReason, u64)]) -> ExportMetricsServiceRequest {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let points = dropped
        .iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(signal, reason, n)| NumberDataPoint {
            attributes: vec![
                string_kv("signal", signal.as_str()),
                string_kv(REASON_ATTRIBUTE, reason.as_str()),
            ],
            time_unix_nano: now,
            value: Some(number_data_point::Value::AsInt(
                i64::try_from(*n).unwrap_or(i64::MAX),
            )),
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
                        "Telemetry the extension dropped: memory cap, refused or rejected upstream, tail sampling, the platform".into(),
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
        let request = dropped_metric(&[
            (Signal::Spans, DropReason::MemoryCap, 7),
            (Signal::MetricPoints, DropReason::Rejected, 0),
            (Signal::LogRecords, DropReason::Platform, 2),
            (Signal::Spans, DropReason::PartialSuccess, u64::MAX),
        ]);
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
                Some(number_data_point::Value::AsInt(2)),
                Some(number_data_point::Value::AsInt(i64::MAX)),
            ]
        );
        let reasons: Vec<_> = sum
            .data_points
            .iter()
            .map(|p| match &p.attributes[1].value {
                Some(AnyValue {
                    value: Some(any_value::Value::StringValue(s)),
                }) => s.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(reasons, ["memory_cap", "platform", "partial_success"]);
    }
}
