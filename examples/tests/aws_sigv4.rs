//! `aws-http-api` exporting as to X-Ray's OTLP endpoint (`FAAS_OTEL_AUTH=sigv4`), the real
//! binary under the scripted Lambda emulator: every export carries a SigV4 signature that
//! botocore (from the test venv) accepts for the request as received, spans and log records; the secret key and the
//! session token never appear on the function's stderr; missing credentials stop start-up
//! with an error naming the variable.
//!
//! Needs the examples' feature `sigv4` (off by default; `cargo xtask test` turns it on).
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{Process, Sigv4Check, test_python};
use lambda_emulator::{InvokeEvent, ScriptedLambda};

const KEY_ID: &str = "AKIDFAASOTELFUNC0001";
const SECRET: &str = "faas-otel-fn-SECRET-key/never-printed";
const TOKEN: &str = "faas-otel-fn-SESSION-token-never-printed";

fn start(lambda: &ScriptedLambda, endpoint: &str, secret: Option<&str>) -> Process {
    let mut vars = vec![
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("FAAS_OTEL_AUTH", "sigv4"),
        ("FAAS_OTEL_AUTH_REGION", "eu-west-1"),
        ("FAAS_OTEL_AUTH_SERVICE", "xray"),
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SESSION_TOKEN", TOKEN),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    vars.extend(secret.map(|secret| ("AWS_SECRET_ACCESS_KEY", secret)));
    support::start_runtime(env!("CARGO_BIN_EXE_aws-http-api"), lambda, endpoint, &vars)
}

/// `GET <path>` through API Gateway (HTTP API, payload 2.0); the answer's error, if any.
fn get(api: &ScriptedLambda, path: &str, n: u64) -> Option<String> {
    let answer = api.invoke_and_answer(
        InvokeEvent::new(format!("00000000-0000-4000-8000-{n:012}"))
            .payload(support::http_api_get(path))
            .without_trace_header(),
    );
    answer.error.as_ref().map(|_| answer.text())
}

#[test]
fn exports_pass_botocores_check_and_no_credential_is_printed() {
    let Some(python) = test_python("exports_pass_botocores_check_and_no_credential_is_printed")
    else {
        return;
    };
    let lambda = support::scripted_lambda(1);
    let collector = OtlpReceiver::start().unwrap();
    let mut function = start(&lambda, &collector.url(), Some(SECRET));
    for n in 1..=3 {
        assert_eq!(get(&lambda, "/hello", n), None);
    }
    // A handler error logs a line: with OTEL_LOGS_EXPORTER=otlp it is a signed log export.
    assert!(get(&lambda, "/fail", 4).is_some());
    collector
        .wait_for_spans(4, Duration::from_secs(10))
        .unwrap();
    let exit = function
        .terminate_and_wait(Duration::from_secs(10))
        .unwrap();
    assert_eq!(exit.code(), Some(0), "{}", function.stderr());
    let check = Sigv4Check::new(&python, KEY_ID, SECRET, Some(TOKEN), "eu-west-1", "xray");
    let requests = collector.requests();
    assert!(requests.len() >= 3, "{} requests", requests.len());
    for request in &requests {
        assert_eq!(request.header("content-encoding"), Some("gzip"));
        check.verify_recorded(request).unwrap();
    }
    let paths: std::collections::BTreeSet<&str> =
        requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/v1/logs", "/v1/traces"].into(),
        "spans and logs, both signed"
    );
    assert!(
        collector
            .log_records()
            .iter()
            .any(|r| format!("{:?}", r.body).contains("order lookup failed"))
    );
    let stderr = function.stderr();
    assert!(
        !stderr.contains(SECRET) && !stderr.contains(TOKEN),
        "{stderr}"
    );
}

#[test]
fn missing_credentials_stop_start_up_with_an_error_naming_the_variable() {
    let lambda = support::scripted_lambda(1);
    let collector = OtlpReceiver::start().unwrap();
    let mut function = start(&lambda, &collector.url(), None);
    let exit = function.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(!exit.success());
    let stderr = function.stderr();
    assert!(stderr.contains("AWS_SECRET_ACCESS_KEY"), "{stderr}");
    assert!(
        stderr.contains("SigV4 signing needs AWS credentials"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert_eq!(collector.request_count(), 0);
}
