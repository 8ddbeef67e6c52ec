//! What faas-azure's in-process tests share: the environment of a handler under a host.

use faas_core::env::Env;
use faas_testkit::otlp::OtlpReceiver;

/// The variables the Functions host gives a custom handler (site `inproc`; the port is never
/// bound, the tests hand `serve_on` a listener) and `extra`, exporting to `collector` (no
/// metrics).
pub fn under_host(collector: &OtlpReceiver, extra: &[(&str, &str)]) -> Env {
    let endpoint = collector.url();
    let host = [
        ("FUNCTIONS_CUSTOMHANDLER_PORT", "7071"),
        ("FUNCTIONS_WORKER_RUNTIME", "Custom"),
        ("WEBSITE_SITE_NAME", "inproc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_METRICS_EXPORTER", "none"),
    ];
    Env::from_pairs(host.into_iter().chain(extra.iter().copied()))
}
