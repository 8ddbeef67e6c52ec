//! The generic recording endpoint and the recording proxy in front of it.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faas_testkit::moto::RecordingProxy;
use faas_testkit::{FakeHttp, Reply, http_client, http_request};

#[test]
fn records_and_answers_by_script() {
    let fake = FakeHttp::local().unwrap();
    fake.set_default(
        Reply::status(200)
            .header("x-amz-executed-version", "$LATEST")
            .body("{}"),
    );
    fake.script([Reply::status(429).retry_after("3")]);
    let bound = Duration::from_secs(5);
    let (status, _) = http_request(fake.addr(), "POST", "/a?x=1", Some("one"), bound).unwrap();
    assert_eq!(status, 429);
    let (status, body) = http_request(fake.addr(), "POST", "/b", Some("two"), bound).unwrap();
    assert_eq!((status, body.as_str()), (200, "{}"));
    let seen = fake.wait_requests(2, bound).unwrap();
    assert_eq!(seen[0].path, "/a?x=1");
    assert_eq!(seen[0].text(), "one");
    assert_eq!(seen[1].header("content-type"), Some("application/json"));
    assert_eq!(seen[1].status, Some(200));
    assert!(seen[0].seq < seen[1].seq);
}

#[tokio::test]
async fn the_proxy_forwards_and_records() {
    let target = FakeHttp::local().unwrap();
    let proxy = RecordingProxy::local(&target.url()).unwrap();
    let response = http_client(None)
        .unwrap()
        .post(proxy.endpoint())
        .header("x-amz-target", "AmazonSQS.SendMessage")
        .body("Action=Ignored")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(target.requests().len(), 1);
    let recorded = proxy.requests_of("SendMessage");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].body, b"Action=Ignored");
    assert_eq!(recorded[0].request_line, "POST / HTTP/1.1");
}
