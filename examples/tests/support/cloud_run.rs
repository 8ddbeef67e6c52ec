//! `gcp-http` started as Cloud Run starts a service.

use std::process::Command;
use std::time::Duration;

use faas_testkit::Process;
use faas_testkit::otlp::OtlpReceiver;

/// Starts `gcp-http` with only Cloud Run's variables (service `hello`, revision
/// `hello-00001-abc`) and `extra`, the metadata server at `metadata_host`, exporting to
/// `collector` (no metrics); returns it and the port it serves. `PORT=0`: it binds a port the
/// kernel picks, and the harness reads it back from `/proc`, so no port is chosen in advance
/// (none can be taken in between).
pub fn start_on_cloud_run(
    collector: &OtlpReceiver,
    metadata_host: &str,
    extra: &[(&str, &str)],
) -> (Process, u16) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gcp-http"));
    command
        .env_clear()
        .env("PORT", "0")
        .env("K_SERVICE", "hello")
        .env("K_REVISION", "hello-00001-abc")
        .env("GCE_METADATA_HOST", metadata_host)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .env("OTEL_METRICS_EXPORTER", "none")
        .envs(extra.iter().copied());
    let mut function = Process::spawn(command).unwrap();
    let port = function
        .wait_listening(Duration::from_secs(10))
        .unwrap()
        .port();
    (function, port)
}
