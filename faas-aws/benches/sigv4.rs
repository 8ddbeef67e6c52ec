//! What SigV4 signing (`FAAS_OTEL_AUTH=sigv4`) adds to one OTLP export request: signing a
//! gzip-compressed body of 4 KiB and 64 KiB, against gzip-compressing the same payload (work
//! every compressed export already does) as the baseline.
//!
//! `cargo bench -p faas-aws --features sigv4 --bench sigv4`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::io::Write as _;

use criterion::{Criterion, criterion_group, criterion_main};
use faas_aws::sigv4_auth::SigV4Auth;
use http::{HeaderMap, HeaderValue, Uri};

/// A payload that compresses like OTLP protobuf does (repeated keys, varying ids).
fn payload(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i: u64 = 0;
    while out.len() < len {
        out.extend_from_slice(b"\x0a\x10service.name\x12\x06orders\x1a\x08");
        out.extend_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(raw).unwrap();
    encoder.finish().unwrap()
}

fn sigv4(c: &mut Criterion) {
    let auth = SigV4Auth::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("session-token".into()),
    );
    let uri: Uri = "https://xray.us-east-1.amazonaws.com/v1/traces"
        .parse()
        .unwrap();
    for kib in [4usize, 64] {
        let raw = payload(kib * 1024);
        let body = gzip(&raw);
        let mut group = c.benchmark_group(format!("sigv4/{kib} KiB"));
        group.bench_function("baseline: gzip the payload", |b| {
            b.iter(|| black_box(gzip(black_box(&raw))))
        });
        group.bench_function("sign the compressed request", |b| {
            b.iter(|| {
                let mut headers = HeaderMap::new();
                headers.insert(
                    "content-type",
                    HeaderValue::from_static("application/x-protobuf"),
                );
                headers.insert("content-encoding", HeaderValue::from_static("gzip"));
                auth.sign("POST", &uri, &mut headers, black_box(&body))
                    .unwrap();
                black_box(headers)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, sigv4);
criterion_main!(benches);
