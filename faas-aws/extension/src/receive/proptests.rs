//! Property tests of the held-bytes path: OTLP protobuf and JSON bodies as the receiver takes
//! them, against a full prost decode of the same input.

#![allow(clippy::unwrap_used)]

use axum::http::{HeaderMap, HeaderValue, header};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use opentelemetry_semantic_conventions::attribute as attr;
use proptest::prelude::*;
use prost::Message;

use crate::buffer::{Buffer, HELD_REQUEST_OVERHEAD, Held, Signal, SpanView, for_each_span};
use crate::otlp::{self, find_bool, find_str};

use super::accept::invocation_spans;
use super::decode::{Encoding, decode};
use super::in_flight::InFlightBytes;

fn scalar() -> impl Strategy<Value = any_value::Value> {
    prop_oneof![
        "[a-z0-9 ._-]{0,12}".prop_map(any_value::Value::StringValue),
        any::<bool>().prop_map(any_value::Value::BoolValue),
        any::<i64>().prop_map(any_value::Value::IntValue),
        (-1e9f64..1e9).prop_map(any_value::Value::DoubleValue),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(any_value::Value::BytesValue),
    ]
}

fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = scalar().prop_map(|v| AnyValue { value: Some(v) });
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|values| AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values }))
            }),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..3).prop_map(|kvs| AnyValue {
                value: Some(any_value::Value::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(key, value)| KeyValue {
                            key,
                            value: Some(value),
                            ..KeyValue::default()
                        })
                        .collect(),
                }))
            }),
        ]
    })
}

/// Attributes with the keys the extension reads among others, any value type.
fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    let key = prop_oneof![
        Just(attr::FAAS_INVOCATION_ID.to_owned()),
        Just(attr::FAAS_COLDSTART.to_owned()),
        Just("http.route".to_owned()),
        "[a-z.]{1,10}",
    ];
    prop::collection::vec((key, prop::option::of(any_value())), 0..5).prop_map(|kvs| {
        kvs.into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value,
                ..KeyValue::default()
            })
            .collect()
    })
}

fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), len),
        1 => prop::collection::vec(any::<u8>(), 0..20),
    ]
}

fn spans() -> impl Strategy<Value = Span> {
    (
        (id(16), id(8), id(8), "[a-z ]{0,10}", 0i32..6),
        (
            any::<u64>(),
            any::<u64>(),
            attributes(),
            prop::option::of(0i32..3),
        ),
    )
        .prop_map(
            |((trace_id, span_id, parent_span_id, name, kind), (start, end, attributes, code))| {
                Span {
                    trace_id,
                    span_id,
                    parent_span_id,
                    name,
                    kind,
                    start_time_unix_nano: start,
                    end_time_unix_nano: end,
                    attributes,
                    status: code.map(|code| Status {
                        code,
                        message: "m".into(),
                    }),
                    events: vec![span::Event {
                        name: "e".into(),
                        ..span::Event::default()
                    }],
                    ..Span::default()
                }
            },
        )
}

fn resource() -> impl Strategy<Value = Option<Resource>> {
    prop::option::of(attributes().prop_map(|attributes| Resource {
        attributes,
        ..Resource::default()
    }))
}

fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    prop::option::of("[a-z]{0,6}".prop_map(|name| InstrumentationScope {
        name,
        ..InstrumentationScope::default()
    }))
}

fn traces() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope_spans =
        (scope(), prop::collection::vec(spans(), 0..5)).prop_map(|(scope, spans)| ScopeSpans {
            scope,
            spans,
            schema_url: String::new(),
        });
    let resource_spans = (resource(), prop::collection::vec(scope_spans, 0..3)).prop_map(
        |(resource, scope_spans)| ResourceSpans {
            resource,
            scope_spans,
            schema_url: "s".into(),
        },
    );
    prop::collection::vec(resource_spans, 0..3)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

fn metrics() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let point = || {
        (any::<u64>(), any::<i64>(), attributes()).prop_map(|(time, v, attributes)| {
            NumberDataPoint {
                attributes,
                time_unix_nano: time,
                value: Some(number_data_point::Value::AsInt(v)),
                ..NumberDataPoint::default()
            }
        })
    };
    let histogram_point =
        prop::collection::vec(any::<u64>(), 0..4).prop_map(|bucket_counts| HistogramDataPoint {
            explicit_bounds: vec![1.5; bucket_counts.len().saturating_sub(1)],
            bucket_counts,
            sum: Some(2.0),
            ..HistogramDataPoint::default()
        });
    let data = prop_oneof![
        prop::collection::vec(point(), 0..4)
            .prop_map(|data_points| metric::Data::Gauge(Gauge { data_points })),
        prop::collection::vec(point(), 0..4).prop_map(|data_points| metric::Data::Sum(Sum {
            data_points,
            aggregation_temporality: 1,
            is_monotonic: true,
        })),
        prop::collection::vec(histogram_point, 0..3).prop_map(|data_points| {
            metric::Data::Histogram(Histogram {
                data_points,
                aggregation_temporality: 2,
            })
        }),
    ];
    let metric = ("[a-z.]{1,8}", prop::option::of(data)).prop_map(|(name, data)| Metric {
        name,
        data,
        ..Metric::default()
    });
    let scope_metrics =
        (scope(), prop::collection::vec(metric, 0..4)).prop_map(|(scope, metrics)| ScopeMetrics {
            scope,
            metrics,
            schema_url: String::new(),
        });
    prop::collection::vec(
        (resource(), prop::collection::vec(scope_metrics, 0..3)).prop_map(
            |(resource, scope_metrics)| ResourceMetrics {
                resource,
                scope_metrics,
                schema_url: String::new(),
            },
        ),
        0..3,
    )
    .prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}

fn logs() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let record = (
        any::<u64>(),
        prop::option::of(any_value()),
        attributes(),
        id(16),
    )
        .prop_map(|(time, body, attributes, trace_id)| LogRecord {
            time_unix_nano: time,
            body,
            attributes,
            trace_id,
            severity_text: "INFO".into(),
            ..LogRecord::default()
        });
    let scope_logs =
        (scope(), prop::collection::vec(record, 0..4)).prop_map(|(scope, log_records)| ScopeLogs {
            scope,
            log_records,
            schema_url: String::new(),
        });
    prop::collection::vec(
        (resource(), prop::collection::vec(scope_logs, 0..3)).prop_map(|(resource, scope_logs)| {
            ResourceLogs {
                resource,
                scope_logs,
                schema_url: String::new(),
            }
        }),
        0..3,
    )
    .prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

fn headers(content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers
}

/// `body` taken by the receiver's decoding step as a `T` request of `signal`.
fn receive<T: Message + Default + serde::de::DeserializeOwned>(
    signal: Signal,
    content_type: &'static str,
    body: Vec<u8>,
) -> Result<(Held, Encoding), super::rejection::Rejection> {
    let budget = InFlightBytes::new(64 << 20);
    let mut reserved = budget.reservation();
    decode::<T>(
        signal,
        &headers(content_type),
        body,
        16 << 20,
        &mut reserved,
    )
}

/// An invocation span as the platform telemetry reads it: ids, parent, invocation id, cold start.
type Invocation = (Vec<u8>, Vec<u8>, Vec<u8>, String, Option<bool>);

/// What a full decode says the extension should read of a span.
fn expected_view(span: &Span) -> SpanView<'_> {
    SpanView {
        trace_id: &span.trace_id,
        span_id: &span.span_id,
        parent_span_id: &span.parent_span_id,
        start: span.start_time_unix_nano,
        end: span.end_time_unix_nano,
        status_code: span.status.as_ref().map_or(0, |s| s.code),
        invocation_id: find_str(&span.attributes, attr::FAAS_INVOCATION_ID),
        coldstart: find_bool(&span.attributes, attr::FAAS_COLDSTART),
    }
}

fn point_count(request: &ExportMetricsServiceRequest) -> u64 {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(metric::Data::Gauge(g)) => g.data_points.len() as u64,
            Some(metric::Data::Sum(s)) => s.data_points.len() as u64,
            Some(metric::Data::Histogram(h)) => h.data_points.len() as u64,
            Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len() as u64,
            Some(metric::Data::Summary(s)) => s.data_points.len() as u64,
            None => 0,
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Protobuf trace bodies are held byte for byte, decode to the same request, and what
    /// the extension reads of them (counts, span views, invocation spans) is what a full
    /// decode says.
    #[test]
    fn protobuf_traces_are_held_as_received_and_read_as_a_full_decode(request in traces()) {
        let wire = request.encode_to_vec();
        let (held, encoding) =
            receive::<ExportTraceServiceRequest>(Signal::Traces, "application/x-protobuf", wire.clone())
                .unwrap();
        prop_assert_eq!(encoding, Encoding::Protobuf);
        prop_assert_eq!(&held.body()[..], &wire[..]);
        prop_assert_eq!(ExportTraceServiceRequest::decode(held.body().clone()).unwrap(), request.clone());
        prop_assert_eq!(held.items(), otlp::spans(&request).count() as u64);
        let mut views = Vec::new();
        for_each_span(held.body(), |view| views.push(view)).unwrap();
        let expected: Vec<SpanView<'_>> = otlp::spans(&request).map(expected_view).collect();
        prop_assert_eq!(views, expected);
        let invocations: Vec<Invocation> = invocation_spans(&held)
            .iter()
            .flat_map(otlp::spans)
            .map(|s| (
                s.trace_id.clone(),
                s.span_id.clone(),
                s.parent_span_id.clone(),
                find_str(&s.attributes, attr::FAAS_INVOCATION_ID).unwrap().to_owned(),
                find_bool(&s.attributes, attr::FAAS_COLDSTART),
            ))
            .collect();
        let expected: Vec<_> = otlp::spans(&request)
            .filter_map(|s| {
                let id = find_str(&s.attributes, attr::FAAS_INVOCATION_ID)?;
                Some((
                    s.trace_id.clone(),
                    s.span_id.clone(),
                    s.parent_span_id.clone(),
                    id.to_owned(),
                    find_bool(&s.attributes, attr::FAAS_COLDSTART),
                ))
            })
            .collect();
        prop_assert_eq!(invocations, expected);
    }

    /// OTLP/JSON trace bodies are transcoded once: the held protobuf decodes to what the JSON
    /// decodes to.
    #[test]
    fn json_traces_are_held_as_their_protobuf_encoding(mut request in traces()) {
        // OTLP/JSON writes ids as hex: keep them well-formed.
        for rs in &mut request.resource_spans {
            for ss in &mut rs.scope_spans {
                for span in &mut ss.spans {
                    span.trace_id.resize(16, 1);
                    span.span_id.resize(8, 2);
                    span.parent_span_id.truncate(0);
                }
            }
        }
        let json = serde_json::to_vec(&request).unwrap();
        let decoded: ExportTraceServiceRequest = serde_json::from_slice(&json).unwrap();
        let (held, encoding) =
            receive::<ExportTraceServiceRequest>(Signal::Traces, "application/json", json).unwrap();
        prop_assert_eq!(encoding, Encoding::Json);
        prop_assert_eq!(held.body().to_vec(), decoded.encode_to_vec());
        prop_assert_eq!(ExportTraceServiceRequest::decode(held.body().clone()).unwrap(), decoded.clone());
        prop_assert_eq!(held.items(), otlp::spans(&decoded).count() as u64);
    }

    /// Metrics and logs: held as received, decoded back the same, items counted as a full
    /// decode counts them (data points, log records); JSON transcoded to the same content.
    #[test]
    fn metrics_and_logs_are_held_and_counted_as_a_full_decode(
        metrics in metrics(),
        logs in logs(),
    ) {
        let wire = metrics.encode_to_vec();
        let (held, _) = receive::<ExportMetricsServiceRequest>(
            Signal::Metrics, "application/x-protobuf", wire.clone()).unwrap();
        prop_assert_eq!(&held.body()[..], &wire[..]);
        prop_assert_eq!(ExportMetricsServiceRequest::decode(held.body().clone()).unwrap(), metrics.clone());
        prop_assert_eq!(held.items(), point_count(&metrics));
        let json = serde_json::to_vec(&metrics).unwrap();
        let decoded: ExportMetricsServiceRequest = serde_json::from_slice(&json).unwrap();
        let (held, _) = receive::<ExportMetricsServiceRequest>(
            Signal::Metrics, "application/json", json).unwrap();
        prop_assert_eq!(ExportMetricsServiceRequest::decode(held.body().clone()).unwrap(), decoded.clone());
        prop_assert_eq!(held.items(), point_count(&decoded));

        let wire = logs.encode_to_vec();
        let (held, _) = receive::<ExportLogsServiceRequest>(
            Signal::Logs, "application/x-protobuf", wire.clone()).unwrap();
        prop_assert_eq!(&held.body()[..], &wire[..]);
        prop_assert_eq!(ExportLogsServiceRequest::decode(held.body().clone()).unwrap(), logs.clone());
        let records: usize = logs.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum();
        prop_assert_eq!(held.items(), records as u64);
    }

    /// Arbitrary bytes and damaged encodings never panic, and whatever is accepted decodes
    /// with prost (nothing malformed is held, so nothing malformed is forwarded).
    #[test]
    fn garbage_is_refused_without_panic_and_what_passes_decodes(
        garbage in prop::collection::vec(any::<u8>(), 0..256),
        request in traces(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut damaged = request.encode_to_vec();
        if !damaged.is_empty() {
            let at = flip.index(damaged.len());
            damaged[at] = byte;
        }
        let truncated = {
            let wire = request.encode_to_vec();
            let at = cut.index(wire.len() + 1);
            wire[..at].to_vec()
        };
        for body in [garbage, damaged, truncated] {
            if let Ok((held, _)) = receive::<ExportTraceServiceRequest>(
                Signal::Traces, "application/x-protobuf", body.clone()) {
                let decoded = ExportTraceServiceRequest::decode(&body[..]);
                prop_assert!(decoded.is_ok(), "accepted but prost refuses: {:?}", body);
                prop_assert_eq!(held.items(), otlp::spans(&decoded.unwrap()).count() as u64);
                let _ = for_each_span(held.body(), |_| {});
                let _ = invocation_spans(&held);
                let _ = crate::forward::batches(Signal::Traces, vec![held]).pop().map(|b| b.split_in_two());
            }
            if receive::<ExportMetricsServiceRequest>(Signal::Metrics, "application/x-protobuf", body.clone()).is_ok() {
                prop_assert!(ExportMetricsServiceRequest::decode(&body[..]).is_ok());
            }
            if receive::<ExportLogsServiceRequest>(Signal::Logs, "application/x-protobuf", body.clone()).is_ok() {
                prop_assert!(ExportLogsServiceRequest::decode(&body[..]).is_ok());
            }
            let _ = receive::<ExportTraceServiceRequest>(Signal::Traces, "application/json", body);
        }
    }

    /// The buffer counts exactly what it holds (each request's bytes and the fixed overhead),
    /// and every span pushed is either held or counted as dropped.
    #[test]
    fn the_memory_held_is_what_the_accounting_says(
        requests in prop::collection::vec(traces(), 1..12),
        limit in 0usize..4096,
    ) {
        let mut buffer = Buffer::new(limit);
        let mut pushed = 0u64;
        let mut refused = 0u64;
        for request in &requests {
            let (held, _) = receive::<ExportTraceServiceRequest>(
                Signal::Traces, "application/x-protobuf", request.encode_to_vec()).unwrap();
            pushed += held.items();
            refused += buffer.push(Signal::Traces, held);
        }
        let held: usize = buffer
            .traces
            .iter()
            .map(|h| h.body().len() + HELD_REQUEST_OVERHEAD)
            .sum();
        prop_assert_eq!(buffer.bytes(), held);
        prop_assert!(buffer.bytes() <= limit);
        let kept: u64 = buffer.traces.iter().map(Held::items).sum();
        prop_assert_eq!(kept + buffer.dropped.spans, pushed);
        prop_assert_eq!(buffer.dropped.spans, refused);
    }

    /// Held requests concatenated into one batch body decode to all their resource entries in
    /// order; split in two, the halves hold the same spans in the same order.
    #[test]
    fn concatenated_batches_and_their_halves_hold_the_exact_spans(
        requests in prop::collection::vec(traces(), 1..6),
    ) {
        let held: Vec<Held> = requests
            .iter()
            .map(|r| Held::from_protobuf(Signal::Traces, bytes::Bytes::from(r.encode_to_vec())).unwrap())
            .collect();
        let mut expected = ExportTraceServiceRequest::default();
        for r in &requests {
            expected.resource_spans.extend(r.resource_spans.clone());
        }
        let batches = crate::forward::batches(Signal::Traces, held);
        prop_assert_eq!(batches.len(), 1);
        let batch = batches.into_iter().next().unwrap();
        let whole = ExportTraceServiceRequest::decode(batch.body()).unwrap();
        prop_assert_eq!(&whole, &expected);
        prop_assert_eq!(batch.items(), otlp::spans(&expected).count() as u64);
        let spans: Vec<Span> = otlp::spans(&expected).cloned().collect();
        let items = batch.items();
        match batch.split_in_two() {
            Ok((a, b)) => {
                prop_assert_eq!(a.items() + b.items(), items);
                let mut halves: Vec<Span> = otlp::spans(&ExportTraceServiceRequest::decode(a.body()).unwrap()).cloned().collect();
                halves.extend(otlp::spans(&ExportTraceServiceRequest::decode(b.body()).unwrap()).cloned());
                prop_assert_eq!(halves, spans);
            }
            Err(whole) => prop_assert!(whole.items() <= 1),
        }
    }
}
