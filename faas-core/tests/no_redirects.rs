//! The OTLP exporter follows no redirect: a collector answering 301/302/307/308 towards
//! another host gets its answer treated as a failed export, and the other host receives
//! nothing, so export headers (API keys) never travel to it.
#![allow(clippy::unwrap_used)]

use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;
use faas_testkit::Reply;
use faas_testkit::otlp::OtlpReceiver;

const SECRET: &str = "Sk-8f14e45fceea167a";

fn telemetry(endpoint: &str) -> Telemetry {
    let headers = format!("x-api-key={SECRET}");
    Telemetry::builder(LocalEnvironment::named("redirect-test"))
        .with_env(Env::from_pairs([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_HEADERS", headers.as_str()),
            ("OTEL_METRICS_EXPORTER", "none"),
        ]))
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
        .unwrap()
}

#[tokio::test]
async fn redirects_are_never_followed_and_the_api_key_stays_home() {
    for status in [301, 302, 303, 307, 308] {
        let elsewhere = OtlpReceiver::start().unwrap();
        let location = format!("{}/v1/traces", elsewhere.url());
        let collector = OtlpReceiver::builder()
            .default_reply(Reply::status(status).header("location", &location))
            .start()
            .unwrap();
        let telemetry = telemetry(&collector.url());
        let _ = telemetry.cold_start().take();
        telemetry
            .start_invocation(Invocation::new("fn", Trigger::Other))
            .end(Outcome::Ok);

        let report = telemetry.flush(None).await;
        assert_eq!(report.exported_spans, 0, "{status}");

        let asked = collector.requests();
        assert_eq!(asked.len(), 1, "{status}: one export attempt");
        assert_eq!(asked[0].http.path, "/v1/traces");
        assert_eq!(asked[0].http.header("x-api-key"), Some(SECRET));
        assert_eq!(asked[0].http.status, Some(status));
        assert_eq!(
            elsewhere.request_count(),
            0,
            "{status}: the redirect target got a request"
        );
    }
}

#[test]
fn debug_of_the_whole_pipeline_shows_no_header_value() {
    // The exporters' own Debug (opentelemetry-otlp's) prints their headers: the pipeline's
    // Debug must not reach it. Metrics and logs on too, each with a headers variable.
    let headers = format!("x-api-key={SECRET}");
    let telemetry = Telemetry::builder(LocalEnvironment::named("debug-test"))
        .with_env(Env::from_pairs([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_EXPORTER_OTLP_HEADERS", headers.as_str()),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", headers.as_str()),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", headers.as_str()),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", headers.as_str()),
            ("OTEL_LOGS_EXPORTER", "otlp"),
        ]))
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
        .unwrap();
    let shown = format!("{telemetry:?} {telemetry:#?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("Telemetry"));
    let _ = telemetry.cold_start().take();
    drop(telemetry);
}
