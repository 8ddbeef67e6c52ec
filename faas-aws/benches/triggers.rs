//! Trigger detection on real event shapes: the work faas-aws adds before every handler call
//! (parse the raw event, describe it), against parsing alone as the baseline.
//!
//! `cargo bench -p faas-aws --bench triggers`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use faas_aws::triggers::{DescribeOptions, describe};

const FIXTURES: &[&str] = &[
    "apigw-v2.json",
    "sqs-batch.json",
    "s3-put.json",
    "direct-invoke.json",
];

fn triggers(c: &mut Criterion) {
    let options = DescribeOptions::default();
    for fixture in FIXTURES {
        let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let raw = std::fs::read(&path).unwrap();
        let mut group = c.benchmark_group(format!("triggers/{fixture}"));
        group.bench_function("baseline: serde_json parse", |b| {
            b.iter(|| {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(&raw)).unwrap())
            })
        });
        group.bench_function("parse + describe", |b| {
            b.iter(|| {
                let event: serde_json::Value = serde_json::from_slice(black_box(&raw)).unwrap();
                black_box(describe(&event, &options))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, triggers);
criterion_main!(benches);
