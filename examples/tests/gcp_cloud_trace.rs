//! `gcp-http` exporting as to Cloud Trace (`FAAS_OTEL_AUTH=google`), the real binary against
//! the test kit's metadata server (token endpoint) and an OTLP receiver that checks the bearer
//! token: spans arrive with the instance's token and the quota project; the token never
//! appears on the function's stderr; a metadata server whose token requests hang costs the
//! function one bounded fetch and one clear error line, whatever the number of requests.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use faas_testkit::gcp::MetadataServer;
use faas_testkit::http_client;
use faas_testkit::otlp::OtlpReceiver;

const TOKEN: &str = "ya29.SECRET-cloud-trace-token-never-printed";

/// Exporting as to Cloud Trace, with the quota project `quota-project`.
const CLOUD_TRACE: &[(&str, &str)] = &[
    ("FAAS_OTEL_AUTH", "google"),
    ("FAAS_OTEL_AUTH_QUOTA_PROJECT", "quota-project"),
    ("FAAS_OTEL_MEMORY_MB", "512"),
];

async fn hello(port: u16) {
    let response = http_client(Some(Duration::from_secs(10)))
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_carry_the_metadata_token_which_is_never_printed() {
    let metadata = MetadataServer::local().unwrap();
    metadata.script_tokens([(TOKEN, 3599)]);
    let collector = OtlpReceiver::start().unwrap();
    let (mut function, port) =
        support::start_on_cloud_run(&collector, &metadata.host(), CLOUD_TRACE);
    for _ in 0..3 {
        hello(port).await;
    }
    collector
        .wait_for_spans(3, Duration::from_secs(10))
        .unwrap();
    let requests = collector.requests();
    assert!(!requests.is_empty());
    let bearer = format!("Bearer {TOKEN}");
    for request in &requests {
        assert_eq!(request.header("authorization"), Some(bearer.as_str()));
        assert_eq!(request.header("x-goog-user-project"), Some("quota-project"));
    }
    assert_eq!(metadata.token_requests(), 1, "one fetch, cached");
    function
        .terminate_and_wait(Duration::from_secs(10))
        .unwrap();
    let stderr = function.stderr();
    assert!(
        !stderr.contains(TOKEN) && !stderr.contains("SECRET"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_token_endpoint_costs_one_bounded_fetch_and_one_clear_error() {
    let metadata = MetadataServer::local().unwrap();
    metadata.stall_tokens(true);
    let collector = OtlpReceiver::start().unwrap();
    let (mut function, port) =
        support::start_on_cloud_run(&collector, &metadata.host(), CLOUD_TRACE);
    for _ in 0..4 {
        hello(port).await;
    }
    // Every request answered, nothing sent without a token, the token asked for once (the
    // background retry comes only after 30 s).
    assert_eq!(collector.request_count(), 0);
    assert_eq!(metadata.token_requests(), 1);
    function
        .terminate_and_wait(Duration::from_secs(10))
        .unwrap();
    let stderr = function.stderr();
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("no Google access token"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("FAAS_OTEL_AUTH=google"), "{}", errors[0]);
    assert!(
        errors[0].contains("timed out after 1000 ms"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains(&metadata.host()), "{}", errors[0]);
}
