//! SigV4-signed OTLP export (`FAAS_OTEL_AUTH=sigv4`), checked independently: a real OTLP
//! receiver records each request exactly as it arrived, and botocore (the AWS SDK for Python's
//! signer, from the test venv) recomputes its signature with the credentials and scope a real
//! X-Ray endpoint would expect. A wrong key, a wrong region and a stale session token are
//! refused; every attempt is signed anew; credentials never show in an error.
#![cfg(feature = "sigv4")]
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Duration;

use faas_aws::export_auth_env::with_export_auth;
use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::pipeline::Telemetry;
use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{Reply, Sigv4Check, test_python};
use opentelemetry::trace::{Span as _, Tracer as _};

const KEY_ID: &str = "AKIDFAASOTELTEST0001";
const SECRET: &str = "faas-otel-test-SECRET-key/do-not-print";
const TOKEN: &str = "faas-otel-test-SESSION-token-do-not-print";

fn check(python: &std::path::Path) -> Sigv4Check {
    Sigv4Check::new(python, KEY_ID, SECRET, Some(TOKEN), "us-east-1", "xray")
}

fn env(endpoint: &str, extra: &[(&str, &str)]) -> Env {
    let defaults = [
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", TOKEN),
        ("FAAS_OTEL_AUTH", "sigv4"),
        // The receiver is on 127.0.0.1: the scope cannot come from the host.
        ("FAAS_OTEL_AUTH_REGION", "us-east-1"),
        ("FAAS_OTEL_AUTH_SERVICE", "xray"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("FAAS_OTEL_FLUSH_TIMEOUT_MS", "2000"),
        ("FAAS_OTEL_EXPORT_BACKOFF_MS", "0"),
    ];
    let pairs: Vec<(String, String)> = defaults
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .chain(extra.iter())
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Env::from_pairs(pairs)
}

/// The telemetry `faas_aws::telemetry_from_env` builds for `env` (the same auth step).
fn telemetry(env: &Env) -> Result<Telemetry, faas_core::ServeError> {
    let builder = Telemetry::builder(LocalEnvironment::named("signed"))
        .with_env(env.clone())
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false);
    Ok(with_export_auth(builder, env)?.build()?)
}

fn span(telemetry: &Telemetry, name: &'static str) {
    telemetry.tracer().start(name).end();
}

#[tokio::test]
async fn signed_spans_and_metrics_pass_botocores_check_and_arrive() {
    let Some(python) = test_python("signed_spans_and_metrics_pass_botocores_check_and_arrive")
    else {
        return;
    };
    let receiver = OtlpReceiver::start().unwrap();
    let telemetry = telemetry(&env(&receiver.url(), &[])).unwrap();
    span(&telemetry, "signed-1");
    span(&telemetry, "signed-2");
    let report = telemetry.flush_within(Duration::from_secs(2), true).await;
    assert_eq!(report.exported_spans, 2, "{report:?}");
    assert!(report.metrics_exported, "{report:?}");
    let requests = receiver.requests();
    let mut paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/v1/metrics", "/v1/traces"]);
    let check = check(&python);
    for request in &requests {
        assert_eq!(request.header("content-encoding"), Some("gzip"));
        let authorization = request.header("authorization").unwrap();
        assert!(
            authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential={KEY_ID}/")),
            "{authorization}"
        );
        assert!(authorization.contains("/us-east-1/xray/aws4_request"));
        // The compressed body, as received, is what was signed.
        check.verify_recorded(request).unwrap();
        // ... and nothing else: one changed body byte breaks it.
        let mut tampered = request.http.clone();
        let mut body = tampered.body.to_vec();
        body[0] ^= 1;
        tampered.body = body.into();
        let err = check.verify_recorded(&tampered).unwrap_err();
        assert!(err.starts_with("REJECTED SignatureDoesNotMatch"), "{err}");
    }
    let mut names = receiver.span_names();
    names.sort();
    assert_eq!(names, ["signed-1", "signed-2"]);
}

#[tokio::test]
async fn a_wrong_key_a_wrong_region_and_a_stale_token_are_refused() {
    let Some(python) = test_python("a_wrong_key_a_wrong_region_and_a_stale_token_are_refused")
    else {
        return;
    };
    let check = check(&python);
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")],
            "REJECTED SignatureDoesNotMatch",
        ),
        (
            &[("FAAS_OTEL_AUTH_REGION", "eu-west-1")],
            "REJECTED SignatureDoesNotMatch (scope in request: ",
        ),
        (
            &[("FAAS_OTEL_AUTH_SERVICE", "logs")],
            "REJECTED SignatureDoesNotMatch",
        ),
        (
            &[("AWS_SESSION_TOKEN", "an-expired-session-token")],
            "REJECTED ExpiredToken",
        ),
    ];
    for (extra, verdict) in cases {
        let receiver = OtlpReceiver::start().unwrap();
        let telemetry = telemetry(&env(
            &receiver.url(),
            &[extra, &[("OTEL_METRICS_EXPORTER", "none")]].concat(),
        ))
        .unwrap();
        span(&telemetry, "refused");
        let report = telemetry.flush(None).await;
        assert_eq!(report.exported_spans, 1, "{report:?}");
        let requests = receiver.requests();
        assert_eq!(requests.len(), 1);
        let err = check.verify_recorded(&requests[0]).unwrap_err();
        assert!(err.starts_with(verdict), "{extra:?}: {err}");
    }
    // The region case names the scope it was signed for, not the expected one.
    let receiver = OtlpReceiver::start().unwrap();
    let telemetry = telemetry(&env(
        &receiver.url(),
        &[
            ("FAAS_OTEL_AUTH_REGION", "eu-west-1"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ],
    ))
    .unwrap();
    span(&telemetry, "refused");
    telemetry.flush(None).await;
    let err = check.verify_recorded(&receiver.requests()[0]).unwrap_err();
    assert!(err.contains("/eu-west-1/xray"), "{err}");
}

#[tokio::test]
async fn every_attempt_is_signed_again() {
    let Some(python) = test_python("every_attempt_is_signed_again") else {
        return;
    };
    let receiver = OtlpReceiver::builder()
        .script([Reply::status(503), Reply::status(503)])
        .start()
        .unwrap();
    let telemetry = telemetry(&env(&receiver.url(), &[("OTEL_METRICS_EXPORTER", "none")])).unwrap();
    span(&telemetry, "first");
    let failed = telemetry.flush(None).await;
    assert_eq!(failed.exported_spans, 0, "{failed:?}");
    span(&telemetry, "second");
    let _ = telemetry.flush(None).await;
    span(&telemetry, "third");
    let _ = telemetry.flush(None).await;
    let requests = receiver.requests();
    assert!(requests.len() >= 3, "{} requests", requests.len());
    let check = check(&python);
    for request in &requests {
        check.verify_recorded(request).unwrap();
    }
    let signatures: HashSet<&str> = requests
        .iter()
        .map(|r| r.header("authorization").unwrap())
        .collect();
    assert_eq!(signatures.len(), requests.len(), "a signature was replayed");
    assert!(receiver.span_names().contains(&"third".to_owned()));
}

#[test]
fn missing_credentials_are_a_start_up_error_that_shows_no_secret() {
    let endpoint = "https://xray.us-east-1.amazonaws.com";
    let only_secret = env(endpoint, &[("AWS_ACCESS_KEY_ID", "")]);
    let err = telemetry(&only_secret).unwrap_err().to_string();
    assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    assert!(!err.contains(SECRET) && !err.contains(TOKEN), "{err}");
    let none = env(
        endpoint,
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    );
    let err = telemetry(&none).unwrap_err().to_string();
    assert!(
        err.contains("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    // An endpoint whose scope cannot be told is refused at start-up too.
    let local = env(
        "http://127.0.0.1:4318",
        &[
            ("FAAS_OTEL_AUTH_REGION", ""),
            ("FAAS_OTEL_AUTH_SERVICE", ""),
        ],
    );
    let err = telemetry(&local).unwrap_err().to_string();
    assert!(err.contains("FAAS_OTEL_AUTH_REGION"), "{err}");
    assert!(!err.contains(SECRET) && !err.contains(TOKEN), "{err}");
    // The X-Ray host gives region and service: no override needed.
    let xray = env(
        "https://xray.us-east-1.amazonaws.com",
        &[
            ("FAAS_OTEL_AUTH_REGION", ""),
            ("FAAS_OTEL_AUTH_SERVICE", ""),
        ],
    );
    let telemetry = telemetry(&xray).unwrap();
    let debug = format!("{:?}", telemetry.config());
    assert!(!debug.contains(SECRET) && !debug.contains(TOKEN), "{debug}");
}
