//! SIGTERM drains the queue within the shutdown budget and exits with status 0.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Behaviour, Collector};

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
    let collector = Collector::start(Behaviour::Accept);
    let mut child = Command::new(&binary)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("FAAS_OTEL_SHUTDOWN_TIMEOUT_MS", "1000")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // 3 invocation spans, the init span and its 3 phases.
    assert_eq!(line.trim(), "ready 7");
    assert_eq!(collector.span_count(), 0);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not exit");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(exit.code(), Some(0));
    assert_eq!(collector.span_count(), 7);
    let names = collector.span_names();
    assert_eq!(names.iter().filter(|n| *n == "work").count(), 3);
}
