//! The `azure-http` example's log lines, stdout captured, under the test kit's fake Functions
//! host: JSON lines with the host's invocation id (`X-Azure-Functions-InvocationId`), the trace
//! id and the exported span's id, for forwarded HTTP (a failed `GET /api/fail`) and for the
//! invoke protocol (a queue message accepted, one rejected).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use faas_testkit::otlp::{OtlpReceiver, attr, hex};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const HOST_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const BOUND: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_carry_the_invocation_id_and_the_trace() {
    let collector = OtlpReceiver::start().unwrap();
    let (function, host) =
        support::start_under_host(Path::new(env!("CARGO_BIN_EXE_azure-http")), &collector, &[]);
    host.wait_ready(BOUND).await.unwrap();

    let failed = host
        .forward(reqwest::Method::GET, "/api/fail", Some(TRACEPARENT))
        .await
        .unwrap();
    assert_eq!(failed.status, 500);
    let span = collector
        .wait_for_span("GET /api/fail", |_| true)
        .unwrap()
        .span;
    let line = support::json_line(&function, "order lookup failed");
    let mut keys: Vec<&str> = line.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "cause",
            "invocationId",
            "level",
            "message",
            "spanId",
            "target",
            "timestamp",
            "traceId"
        ]
    );
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["invocationId"], failed.invocation_id.as_str());
    assert_eq!(line["traceId"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(line["spanId"], hex(&span.span_id).as_str());
    assert_eq!(line["target"], "azure_http");

    let accepted = host
        .invoke_queue(
            "orders",
            "order",
            r#"{"id": 42}"#,
            "msg-1",
            Some(HOST_TRACEPARENT),
        )
        .await
        .unwrap();
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let id = accepted.invocation_id.clone();
    let span = collector
        .wait_for_span("process orders", |s| {
            attr(&s.attributes, "faas.invocation_id").as_deref() == Some(id.as_str())
        })
        .unwrap()
        .span;
    let line = support::json_line(&function, "order accepted");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["order_id"], "42");
    assert_eq!(line["invocationId"], accepted.invocation_id.as_str());
    assert_eq!(line["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(line["spanId"], hex(&span.span_id).as_str());

    let rejected = host
        .invoke_queue("orders", "order", "not json", "msg-2", None)
        .await
        .unwrap();
    assert_eq!(rejected.status, 500);
    let line = support::json_line(&function, "order rejected");
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["invocationId"], rejected.invocation_id.as_str());
    assert_eq!(line["traceId"].as_str().map(str::len), Some(32));
}
