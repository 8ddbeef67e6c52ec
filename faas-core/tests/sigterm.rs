//! SIGTERM drains the queue within the shutdown budget and exits with status 0.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use faas_testkit::Process;
use faas_testkit::otlp::OtlpReceiver;

fn example_binary() -> std::path::PathBuf {
    // target/debug/deps/sigterm-HASH -> target/debug/examples/drain_on_sigterm
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("drain_on_sigterm")
}

#[test]
fn sigterm_exports_every_queued_span_then_exits_zero() {
    let binary = example_binary();
    assert!(
        binary.exists(),
        "{} is built by `cargo test`",
        binary.display()
    );
    let collector = OtlpReceiver::start().unwrap();
    let mut command = Command::new(&binary);
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("FAAS_OTEL_SHUTDOWN_TIMEOUT_MS", "1000");
    let mut child = Process::spawn(command).unwrap();
    let line = child
        .wait_for_stdout_line(Duration::from_secs(10), |_| true)
        .unwrap();
    // 3 invocation spans, the init span and its 3 phases.
    assert_eq!(line.trim(), "ready 7");
    assert_eq!(collector.span_count(), 0);

    child.terminate().unwrap();
    let exit = child.wait_exit(Duration::from_secs(10)).unwrap();
    assert_eq!(exit.code(), Some(0));
    assert_eq!(collector.span_count(), 7);
    let names = collector.span_names();
    assert_eq!(names.iter().filter(|n| *n == "work").count(), 3);
}
