//! `FAAS_OTEL_AUTH=google` against the test kit's fake metadata server (token endpoint with
//! expiry, scripted refreshes, stalls) and a real OTLP receiver that checks the bearer token:
//! every export carries the current token (and the quota project), an expired token is
//! refreshed, a token near its end is refreshed in the background, and a slow or absent
//! metadata server costs one bounded fetch, not one per flush (counted in fetches, not timed).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::pipeline::Telemetry;
use faas_gcp::build_telemetry;
use faas_gcp::google_auth::{GoogleAuth, Timing};
use faas_testkit::gcp::{self as metadata, MetadataServer};
use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{PATIENCE, RefusedPort};
use opentelemetry::trace::{Span as _, Tracer as _};

fn env(metadata_host: &str, endpoint: &str, extra: &[(&str, &str)]) -> Env {
    let mut pairs = vec![
        ("FAAS_OTEL_AUTH", "google"),
        ("GCE_METADATA_HOST", metadata_host),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("FAAS_OTEL_FLUSH_TIMEOUT_MS", "2000"),
        ("FAAS_OTEL_EXPORT_BACKOFF_MS", "0"),
    ];
    pairs.extend_from_slice(extra);
    Env::from_pairs(pairs)
}

/// Telemetry authorized by `auth` (its own timing), exporting to `endpoint`.
fn telemetry_with(auth: &GoogleAuth, endpoint: &str) -> Telemetry {
    Telemetry::builder(LocalEnvironment::named("google-auth"))
        .with_env(env("unused", endpoint, &[]))
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .with_export_auth(Arc::new(auth.clone()))
        .build()
        .unwrap()
}

async fn export(telemetry: &Telemetry, name: &'static str) -> faas_core::pipeline::FlushReport {
    telemetry.tracer().start(name).end();
    telemetry.flush(None).await
}

/// The bearer token of every request the receiver got, in order.
fn bearers(receiver: &OtlpReceiver) -> Vec<String> {
    receiver
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("(none)").to_owned())
        .collect()
}

fn short(fetch_bound_ms: u64, margin_s: u64, ahead_s: u64, retry_s: u64) -> Timing {
    Timing {
        fetch_bound: Duration::from_millis(fetch_bound_ms),
        expiry_margin: Duration::from_secs(margin_s),
        refresh_ahead: Duration::from_secs(ahead_s),
        retry_interval: Duration::from_secs(retry_s),
    }
}

#[tokio::test]
async fn exports_carry_the_metadata_token_and_the_quota_project_fetched_once() {
    let meta = MetadataServer::local().unwrap();
    let receiver = OtlpReceiver::start().unwrap();
    let quota = env(
        &meta.host(),
        &receiver.url(),
        &[
            ("FAAS_OTEL_AUTH_QUOTA_PROJECT", "billing-project"),
            ("OTEL_METRICS_EXPORTER", "otlp"),
        ],
    );
    let telemetry = build_telemetry(&quota).await.unwrap();
    // Fetched at start-up, before any export.
    assert_eq!(meta.token_requests(), 1);
    for name in ["one", "two", "three"] {
        telemetry.tracer().start(name).end();
        let report = telemetry.flush_within(Duration::from_secs(2), true).await;
        assert_eq!(report.exported_spans, 1, "{report:?}");
    }
    let requests = receiver.requests();
    assert_eq!(requests.len(), 6, "three trace and three metric requests");
    let expected = format!("Bearer {}", metadata::ACCESS_TOKEN);
    for request in &requests {
        assert_eq!(request.header("authorization"), Some(expected.as_str()));
        assert_eq!(
            request.header("x-goog-user-project"),
            Some("billing-project")
        );
    }
    assert_eq!(meta.token_requests(), 1, "the token is cached");
    let token_request = meta
        .requests()
        .into_iter()
        .find(|s| s.path.ends_with(metadata::TOKEN_PATH))
        .unwrap();
    assert_eq!(token_request.flavor.as_deref(), Some("Google"));
    let mut names = receiver.span_names();
    names.sort();
    assert_eq!(names, ["one", "three", "two"]);
    // Without a quota project the header is left out; `sigv4` is not a Google setting.
    let plain = OtlpReceiver::start().unwrap();
    let telemetry = build_telemetry(&env_plain(&meta.host(), &plain.url()))
        .await
        .unwrap();
    assert_eq!(export(&telemetry, "plain").await.exported_spans, 1);
    assert_eq!(plain.requests()[0].header("x-goog-user-project"), None);
    let wrong = env(&meta.host(), &plain.url(), &[("FAAS_OTEL_AUTH", "sigv4")]);
    let err = build_telemetry(&wrong).await.unwrap_err().to_string();
    assert!(
        err.contains("FAAS_OTEL_AUTH") && err.contains("none, google"),
        "{err}"
    );
    // gRPC requests carry no token: refused at start-up (without faas-core's `grpc` the
    // protocol itself is refused first).
    let grpc = env(
        &meta.host(),
        &plain.url(),
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
    );
    let err = build_telemetry(&grpc).await.unwrap_err().to_string();
    assert!(
        err.contains("OTLP/HTTP requests only") || err.contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
        "{err}"
    );
}

fn env_plain(metadata_host: &str, endpoint: &str) -> Env {
    env(metadata_host, endpoint, &[])
}

#[tokio::test]
async fn an_expired_token_is_fetched_again_and_a_token_near_its_end_in_the_background() {
    let meta = MetadataServer::local().unwrap();
    let receiver = OtlpReceiver::start().unwrap();
    // Expired: no margin, no refresh ahead; the first token lives 1 s.
    meta.script_tokens([("tok-1", 1), ("tok-2", 3600)]);
    let auth = GoogleAuth::new(&meta.host(), None, short(1000, 0, 0, 600)).unwrap();
    auth.prefetch().await.unwrap();
    let telemetry = telemetry_with(&auth, &receiver.url());
    assert_eq!(export(&telemetry, "a").await.exported_spans, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(export(&telemetry, "b").await.exported_spans, 1);
    assert_eq!(export(&telemetry, "c").await.exported_spans, 1);
    assert_eq!(
        bearers(&receiver),
        ["Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]
    );
    assert_eq!(meta.token_requests(), 2);

    // Near its end (100 s left, refreshed 200 s ahead): used, and replaced in the background.
    let meta = MetadataServer::local().unwrap();
    let receiver = OtlpReceiver::start().unwrap();
    meta.script_tokens([("tok-a", 100), ("tok-b", 3600)]);
    let auth = GoogleAuth::new(&meta.host(), None, short(1000, 30, 200, 600)).unwrap();
    auth.prefetch().await.unwrap();
    let telemetry = telemetry_with(&auth, &receiver.url());
    assert_eq!(export(&telemetry, "a").await.exported_spans, 1);
    // The background refresh runs on this test's runtime: export (and sleep, so that it runs)
    // until an export carries its token. A blocking wait here would stall the refresh itself;
    // one yield was not always enough for it to read and store the answer on a loaded machine.
    let deadline = std::time::Instant::now() + PATIENCE;
    while bearers(&receiver).last().map(String::as_str) != Some("Bearer tok-b") {
        assert!(
            std::time::Instant::now() < deadline,
            "the refreshed token never came into use: {:?}",
            bearers(&receiver)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(export(&telemetry, "b").await.exported_spans, 1);
    }
    let seen = bearers(&receiver);
    assert_eq!(seen[0], "Bearer tok-a");
    // Every export after the first used tok-a until the refresh stored tok-b, then tok-b.
    let switched = seen.iter().position(|b| b == "Bearer tok-b").unwrap();
    assert!(
        seen[..switched].iter().all(|b| b == "Bearer tok-a"),
        "{seen:?}"
    );
    assert_eq!(auth.fetches(), 2);
    assert_eq!(meta.token_requests(), 2, "one refresh, not one per export");
}

#[tokio::test]
async fn a_slow_metadata_server_costs_one_bounded_fetch_then_recovers_in_the_background() {
    let meta = MetadataServer::local().unwrap();
    meta.stall_tokens(true);
    let receiver = OtlpReceiver::start().unwrap();
    let auth = GoogleAuth::new(&meta.host(), None, short(200, 30, 300, 600)).unwrap();
    let err = auth.prefetch().await.unwrap_err().to_string();
    assert!(err.contains("FAAS_OTEL_AUTH=google"), "{err}");
    assert!(err.contains("timed out after 200 ms"), "{err}");
    let telemetry = telemetry_with(&auth, &receiver.url());
    for name in ["a", "b", "c"] {
        let report = export(&telemetry, name).await;
        assert_eq!(report.exported_spans, 0, "{report:?}");
    }
    assert_eq!(
        receiver.request_count(),
        0,
        "nothing is sent without a token"
    );
    assert_eq!(auth.fetches(), 1, "one bounded fetch, none per flush");
    assert_eq!(meta.token_requests(), 1);

    // With retries due at once, a refused export starts one background fetch (the export
    // does not wait for it): when the server recovers, exports resume.
    let auth = GoogleAuth::new(&meta.host(), None, short(200, 30, 300, 0)).unwrap();
    assert!(auth.prefetch().await.is_err());
    let telemetry = telemetry_with(&auth, &receiver.url());
    // The server recovers: a background retry gets a token, exports resume.
    meta.stall_tokens(false);
    let mut recovered = false;
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        if export(&telemetry, "after").await.exported_spans > 0 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(recovered, "no export after the metadata server recovered");
    let expected = format!("Bearer {}", metadata::ACCESS_TOKEN);
    assert!(bearers(&receiver).iter().all(|b| *b == expected));
}

#[tokio::test]
async fn an_absent_metadata_server_is_one_clear_error_and_no_fetch_per_flush() {
    let absent = RefusedPort::new().unwrap();
    let receiver = OtlpReceiver::start().unwrap();
    let auth = GoogleAuth::new(&absent.addr().to_string(), None, short(500, 30, 300, 600)).unwrap();
    let err = auth.prefetch().await.unwrap_err().to_string();
    assert!(err.contains("could not be reached"), "{err}");
    assert!(err.contains(&absent.addr().to_string()), "{err}");
    let telemetry = telemetry_with(&auth, &receiver.url());
    for name in ["a", "b", "c", "d"] {
        assert_eq!(export(&telemetry, name).await.exported_spans, 0);
    }
    assert_eq!(
        auth.fetches(),
        1,
        "retried only in the background, every 600 s"
    );
    assert_eq!(receiver.request_count(), 0);
    let debug = format!("{auth:?}");
    assert!(debug.contains("redacted"), "{debug}");
}
