//! The extension's optional OTLP/gRPC receiver (feature `extension-grpc`): spans sent with
//! the generated OTLP gRPC client reach the upstream like spans sent over OTLP/HTTP, and the
//! memory cap answers with `partial_success` the same way. Runs the real binary against the
//! fake Lambda APIs of `extension_support` (see there).

#![cfg(feature = "grpc")]
#![allow(clippy::unwrap_used)]

mod extension_support;

use std::collections::HashSet;

use extension_support::{
    Clock, ExtensionProcess, LambdaApi, Mode, Upstream, free_port, function_span, trace_request,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;

const TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_over_grpc_are_forwarded_and_the_cap_is_reported() {
    let clock = Clock::default();
    let api = LambdaApi::start(clock.clone()).await;
    let upstream = Upstream::start(clock, Mode::Accept).await;
    let grpc = format!("127.0.0.1:{}", free_port());
    let one = trace_request(
        (0..10)
            .map(|j| function_span(1, j + 1, "earlier", j as usize))
            .collect(),
    );
    let limit = (3 * one.encoded_len() + 10).to_string();
    let mut extension = ExtensionProcess::spawn(
        &api,
        Some(&upstream),
        &[
            ("FAAS_OTEL_EXTENSION_GRPC_LISTEN", grpc.as_str()),
            ("FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES", limit.as_str()),
        ],
    );
    api.wait_next_calls(1).await;

    let mut client = TraceServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    api.invoke("req-0", TRACE_HEADER);
    api.wait_delivered(1).await;
    let mut rejected = 0;
    for n in 0..4u64 {
        let request = trace_request(
            (0..10)
                .map(|j| function_span(1, n * 100 + j + 1, "earlier", j as usize))
                .collect(),
        );
        let response = client.export(request).await.unwrap().into_inner();
        if let Some(partial) = response.partial_success {
            rejected += partial.rejected_spans;
            assert!(partial.error_message.contains("memory cap"));
        }
    }
    // Three requests fit under the cap, the fourth is rejected whole.
    assert_eq!(rejected, 10);
    // The invocation's own span lets the extension export; the cap still rejects it, but its
    // invocation id is seen.
    let last = trace_request(vec![function_span(1, 999, "req-0", 0)]);
    let response = client.export(last).await.unwrap().into_inner();
    assert_eq!(response.partial_success.unwrap().rejected_spans, 1);
    api.wait_next_calls(2).await;
    api.shutdown();
    assert!(extension.wait_exit().await.success());

    let log = upstream.log();
    let spans = log.spans();
    assert_eq!(spans.len(), 30);
    let ids: HashSet<Vec<u8>> = spans.iter().map(|(_, s)| s.span_id.clone()).collect();
    assert_eq!(ids.len(), 30);
    assert_eq!(log.dropped("spans"), 11);
}
