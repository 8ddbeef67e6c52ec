//! Integration tests against moto (`cargo xtask test` starts it and sets
//! `FAAS_OTEL_TEST_MOTO_ENDPOINT`). Without the variable each test prints why it is skipped
//! and passes, unless `CI=true`, where it fails. One binary, one idea per module.
#![allow(clippy::unwrap_used)]

mod fixtures;

mod concurrency;
mod consumer_round_trip;
mod eventbridge_rule;
mod lambda_invoke;
mod sns_fan_out;
mod span_attributes;
mod sqs_attribute_limit;
mod sqs_batch;
mod sqs_round_trip;
mod wire_headers;
