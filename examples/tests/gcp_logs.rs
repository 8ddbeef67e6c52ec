//! The `gcp-http` example's log lines, stdout captured, against the test kit's fake GCP
//! metadata server: Cloud Logging structured JSON whose `logging.googleapis.com/trace` names
//! the metadata server's project and the request's trace, with the exported span's id, the
//! sampled flag and the execution id, also inside a failed request (`GET /fail`, 500).
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use faas_testkit::gcp::{self as metadata, MetadataServer};
use faas_testkit::http_client;
use faas_testkit::otlp::{OtlpReceiver, hex};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_logging_lines_name_the_project_the_trace_and_the_execution() {
    let fake = MetadataServer::local().unwrap();
    let collector = OtlpReceiver::start().unwrap();
    let (function, port) = support::start_on_cloud_run(&collector, &fake.host(), &[]);
    let http = http_client(Some(Duration::from_secs(5))).unwrap();

    let response = http
        .get(format!("http://127.0.0.1:{port}/fail"))
        .header("traceparent", TRACEPARENT)
        .header("function-execution-id", "exec-7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let span = collector.wait_for_span("GET /fail", |_| true).unwrap().span;
    assert_eq!(hex(&span.trace_id), TRACE_ID);

    let line = support::json_line(&function, "order lookup failed");
    let mut keys: Vec<&str> = line.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "cause",
            "logging.googleapis.com/labels",
            "logging.googleapis.com/spanId",
            "logging.googleapis.com/trace",
            "logging.googleapis.com/trace_sampled",
            "message",
            "severity",
            "target",
            "timestamp"
        ]
    );
    assert_eq!(line["severity"], "ERROR");
    assert_eq!(
        line["logging.googleapis.com/trace"],
        format!("projects/{}/traces/{TRACE_ID}", metadata::PROJECT_ID).as_str()
    );
    assert_eq!(
        line["logging.googleapis.com/spanId"],
        hex(&span.span_id).as_str()
    );
    assert_eq!(line["logging.googleapis.com/trace_sampled"], true);
    assert_eq!(
        line["logging.googleapis.com/labels"],
        serde_json::json!({"execution_id": "exec-7"})
    );
    assert_eq!(line["cause"], "the order service is unavailable");
    assert_eq!(line["target"], "gcp_http");

    // A request whose parent is not sampled: the line says so, still with its trace.
    let response = http
        .get(format!("http://127.0.0.1:{port}/hello"))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let hello = support::json_line(&function, "said hello");
    assert_eq!(hello["severity"], "INFO");
    assert_eq!(
        hello["logging.googleapis.com/trace"],
        format!(
            "projects/{}/traces/4bf92f3577b34da6a3ce929d0e0e4736",
            metadata::PROJECT_ID
        )
        .as_str()
    );
    assert_eq!(hello["logging.googleapis.com/trace_sampled"], false);
    assert!(
        !hello.contains_key("logging.googleapis.com/labels"),
        "no execution id sent"
    );
}
