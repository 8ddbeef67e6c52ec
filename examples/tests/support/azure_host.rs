//! An example binary started as the Azure Functions host starts a custom handler.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use faas_testkit::Process;
use faas_testkit::azure::FakeHost;
use faas_testkit::otlp::OtlpReceiver;

/// The app root `examples/azure` (host.json and the function.json files).
pub fn app_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("azure")
}

/// Starts `binary` as the host would: in the app root, with only the host's variables (site
/// `shop`) and `extra`, exporting to `collector` (no metrics); and a fake host driving it.
/// `FUNCTIONS_CUSTOMHANDLER_PORT=0`: the handler binds a port the kernel picks, and the harness
/// reads it back from `/proc`, so no port is chosen in advance (none can be taken in between).
pub fn start_under_host(
    binary: &Path,
    collector: &OtlpReceiver,
    extra: &[(&str, &str)],
) -> (Process, FakeHost) {
    let mut command = Command::new(binary);
    command
        .current_dir(app_root())
        .env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
        .env("FUNCTIONS_WORKER_RUNTIME", "Custom")
        .env("FUNCTIONS_EXTENSION_VERSION", "~4")
        .env("AzureWebJobsScriptRoot", app_root())
        .env("WEBSITE_SITE_NAME", "shop")
        .envs(extra.iter().copied())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .env("OTEL_METRICS_EXPORTER", "none");
    let mut function = Process::spawn(command).unwrap();
    let addr = function.wait_listening(Duration::from_secs(10)).unwrap();
    let host = FakeHost::new(([127, 0, 0, 1], addr.port()).into()).unwrap();
    (function, host)
}
