//! `rotel-agent` (PyPI `rotel`) started as a plain OTLP/HTTP forwarder: the baseline collector of
//! sections 4 and 7.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

use crate::servers::free_port;

/// Starts `agent` receiving OTLP/HTTP on 127.0.0.1:`port` and forwarding it over OTLP/HTTP to
/// `upstream`, with `extra` arguments; its pid and log files go next to `log`, named
/// `<name>-<port>.pid` and `.log`. It does not wait for the port.
pub fn spawn(
    agent: &Path,
    port: u16,
    upstream: &str,
    log: &Path,
    name: &str,
    extra: &[&str],
) -> Result<Child> {
    let dir = log.parent().unwrap_or(Path::new("."));
    Command::new(agent)
        .arg("start")
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{port}")])
        .args([
            "--otlp-grpc-endpoint",
            &format!("127.0.0.1:{}", free_port()?),
        ])
        .args(["--exporter", "otlp", "--otlp-exporter-protocol", "http"])
        .args(["--otlp-exporter-endpoint", upstream])
        .args(extra)
        .arg("--pid-file")
        .arg(dir.join(format!("{name}-{port}.pid")))
        .arg("--log-file")
        .arg(dir.join(format!("{name}-{port}.log")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", agent.display()))
}
