//! Receive → hold → encode of a typical 50-span trace request (one resource, one scope, spans
//! with a handful of attributes, one of them the invocation span): the extension's held-bytes
//! path against the decode-and-re-encode path it replaced (the baseline, done here with prost
//! as the extension did before).
//!
//! `cargo bench -p faas-otel-extension --bench held_bytes`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn s(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.into())
}

/// A 50-span request as a function sends it after one invocation.
fn request(seed: u64) -> ExportTraceServiceRequest {
    let trace_id = [seed.to_be_bytes(), (!seed).to_be_bytes()].concat();
    let root = seed << 8;
    let spans = (0..50u64)
        .map(|i| {
            let mut attributes = vec![
                kv("http.route", s("/orders/{id}")),
                kv("db.system", s("dynamodb")),
                kv("aws.request_id", s("0e6fa2b5-c5f4-4e0b-a31c-3b9c2e4a1f00")),
                kv("retry.count", any_value::Value::IntValue(i as i64)),
            ];
            if i == 0 {
                attributes.push(kv(
                    "faas.invocation_id",
                    s("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
                ));
                attributes.push(kv("faas.coldstart", any_value::Value::BoolValue(false)));
            }
            Span {
                trace_id: trace_id.clone(),
                span_id: (root + i + 1).to_be_bytes().to_vec(),
                parent_span_id: if i == 0 {
                    Vec::new()
                } else {
                    (root + 1).to_be_bytes().to_vec()
                },
                name: format!("operation {i}"),
                kind: 1,
                start_time_unix_nano: 1_700_000_000_000_000_000 + i * 1000,
                end_time_unix_nano: 1_700_000_000_001_000_000 + i * 1000,
                attributes,
                status: Some(Status::default()),
                ..Span::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s("orders")),
                    kv("cloud.provider", s("aws")),
                    kv("faas.name", s("orders-api")),
                ],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "faas-aws".into(),
                    version: "0.1.0".into(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// The path before the held bytes: decode each request, read its invocation ids, hold the
/// structs, merge them and encode the merged request upstream.
fn decode_and_reencode(bodies: &[Bytes]) -> usize {
    let mut held = Vec::new();
    for body in bodies {
        let request = ExportTraceServiceRequest::decode(body.clone()).unwrap();
        let ids: Vec<String> = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .filter_map(|span| {
                span.attributes
                    .iter()
                    .find(|kv| kv.key == "faas.invocation_id")
                    .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                    .map(|v| format!("{v:?}"))
            })
            .collect();
        black_box(ids);
        black_box(request.encoded_len());
        held.push(request);
    }
    let mut merged = ExportTraceServiceRequest::default();
    for request in held {
        merged.resource_spans.extend(request.resource_spans);
    }
    merged.encode_to_vec().len()
}

fn held_bytes(c: &mut Criterion) {
    for requests in [1usize, 10] {
        let bodies: Vec<Bytes> = (0..requests as u64)
            .map(|seed| Bytes::from(request(seed).encode_to_vec()))
            .collect();
        let mut group = c.benchmark_group(format!("receive-hold-encode/{requests}x50 spans"));
        group.throughput(Throughput::Elements(requests as u64 * 50));
        group.bench_function("baseline: decode, hold structs, re-encode", |b| {
            b.iter(|| black_box(decode_and_reencode(black_box(&bodies))))
        });
        group.bench_function("held bytes: check, scan, concatenate", |b| {
            b.iter(|| {
                black_box(faas_otel_extension::bench_api::receive_hold_encode(
                    black_box(&bodies),
                ))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, held_bytes);
criterion_main!(benches);
