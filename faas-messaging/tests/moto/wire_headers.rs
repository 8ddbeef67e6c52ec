//! The HTTP requests the SDK sends carry `traceparent` and `X-Amzn-Trace-Id` of the call's span
//! (observed through a recording proxy in front of moto).

use crate::fixtures::*;
use faas_testkit::moto::RecordingProxy;

#[tokio::test]
async fn headers_on_the_wire() {
    let Some(endpoint) = moto_endpoint("headers_on_the_wire") else {
        return;
    };
    let proxy = RecordingProxy::local(&endpoint).unwrap();
    let scene = QueueScene::on(&endpoint, &proxy.endpoint(), "wire").await;
    let producer = scene.send_traced("x").await;
    let sends = proxy.requests_of("SendMessage");
    assert_eq!(sends.len(), 1, "{:?}", proxy.requests());
    let request = &sends[0];
    assert_eq!(
        request.header("traceparent"),
        Some(traceparent_of(&producer).as_str())
    );
    let trace_id = format!("{}", producer.span_context.trace_id());
    let xray = format!(
        "Root=1-{}-{};Parent={};Sampled=1",
        &trace_id[..8],
        &trace_id[8..],
        producer.span_context.span_id()
    );
    assert_eq!(request.header("x-amzn-trace-id"), Some(xray.as_str()));
    // The message attribute in the body is the same context.
    let body = String::from_utf8_lossy(&request.body);
    assert!(body.contains(&traceparent_of(&producer)), "{body}");
}
