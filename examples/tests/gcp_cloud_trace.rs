//! `gcp-http` exporting as to Cloud Trace (`FAAS_OTEL_AUTH=google`), the real binary against
//! the test kit's metadata server (token endpoint) and an OTLP receiver that checks the bearer
//! token: spans arrive with the instance's token and the quota project; the token never
//! appears on the function's stderr; a metadata server whose token requests hang costs the
//! function one bounded fetch and one clear error line, whatever the number of requests.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use faas_testkit::gcp::MetadataServer;
use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{Process, http_client};

const TOKEN: &str = "ya29.SECRET-cloud-trace-token-never-printed";

fn start(collector: &OtlpReceiver, metadata_host: &str) -> (Process, u16) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gcp-http"));
    command
        .env_clear()
        .env("PORT", "0")
        .env("K_SERVICE", "hello")
        .env("K_REVISION", "hello-00001-abc")
        .env("GCE_METADATA_HOST", metadata_host)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("FAAS_OTEL_AUTH", "google")
        .env("FAAS_OTEL_AUTH_QUOTA_PROJECT", "quota-project")
        .env("FAAS_OTEL_MEMORY_MB", "512");
    let mut function = Process::spawn(command).unwrap();
    let port = function
        .wait_listening(Duration::from_secs(10))
        .unwrap()
        .port();
    (function, port)
}

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
    let (mut function, port) = start(&collector, &metadata.host());
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
    function.terminate().unwrap();
    function.wait_exit(Duration::from_secs(10)).unwrap();
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
    let (mut function, port) = start(&collector, &metadata.host());
    for _ in 0..4 {
        hello(port).await;
    }
    // Every request answered, nothing sent without a token, the token asked for once (the
    // background retry comes only after 30 s).
    assert_eq!(collector.request_count(), 0);
    assert_eq!(metadata.token_requests(), 1);
    function.terminate().unwrap();
    function.wait_exit(Duration::from_secs(10)).unwrap();
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
