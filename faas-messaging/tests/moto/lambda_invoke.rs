//! Lambda Invoke: a CLIENT `{function} invoke` span whose context travels in the client
//! context's `custom` map (the `X-Amz-Client-Context` header, observed through a recording
//! proxy), merged with the user's client context.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::SpanKind;
use serde_json::{Value, json};

use crate::fixtures::*;
use faas_testkit::moto::RecordingProxy;

/// An empty zip archive (end of central directory only).
fn empty_zip() -> Vec<u8> {
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    zip
}

/// Creates an IAM role in moto (Lambda checks the role exists) with a raw query-protocol
/// request (moto routes it by the credential scope and does not check the signature), and
/// returns its ARN.
async fn create_role(endpoint: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let name = unique("role");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let encoded: String = policy
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={encoded}"
    );
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    format!("arn:aws:iam::123456789012:role/{name}")
}

#[tokio::test]
async fn invoke_carries_the_client_context() {
    let Some(endpoint) = moto_endpoint("invoke_carries_the_client_context") else {
        return;
    };
    let proxy = RecordingProxy::local(&endpoint).unwrap();
    let telemetry = Telemetry::new();
    let shared = sdk_config(&endpoint).await;
    let plain = aws_sdk_lambda::Client::new(&shared);
    let traced_shared = sdk_config(&proxy.endpoint()).await;
    let lambda = traced!(aws_sdk_lambda, &traced_shared, telemetry);
    let function = unique("fn");
    plain
        .create_function()
        .function_name(&function)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .role(create_role(&endpoint).await)
        .handler("bootstrap")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(empty_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap();

    let user_context = STANDARD.encode(json!({"custom": {"tenant": "t1"}}).to_string());
    lambda
        .invoke()
        .function_name(&function)
        .client_context(&user_context)
        .payload(aws_smithy_types::Blob::new(b"{}".to_vec()))
        .send()
        .with_context(telemetry.parent())
        .await
        .unwrap();

    let span = telemetry.span(&format!("{function} invoke"));
    assert_span(
        &span,
        SpanKind::Client,
        &[
            ("faas.invoked_name", Some(function.as_str())),
            ("faas.invoked_provider", Some("aws")),
            ("faas.invoked_region", Some("us-east-1")),
            ("rpc.service", Some("Lambda")),
            ("rpc.method", Some("Invoke")),
        ],
    );

    let invokes: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.request_line.contains("/invocations"))
        .collect();
    assert_eq!(invokes.len(), 1, "{:?}", proxy.requests());
    let header = invokes[0]
        .header("x-amz-client-context")
        .expect("client context header");
    let sent: Value = serde_json::from_slice(&STANDARD.decode(header).unwrap()).unwrap();
    assert_eq!(
        sent["custom"]["traceparent"],
        traceparent_of(&span).as_str()
    );
    assert_eq!(sent["custom"]["tenant"], "t1");
    assert_eq!(
        invokes[0].header("traceparent"),
        Some(traceparent_of(&span).as_str())
    );
}
