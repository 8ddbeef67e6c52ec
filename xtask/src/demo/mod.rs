//! `cargo xtask demo`: one whole trace, on this machine, with nothing but what `cargo xtask`
//! installs: no cloud account, no Docker.
//!
//! 1. builds the example functions and the `faas-otel-extension` (debug by default,
//!    `--release` for the size-optimised build);
//! 2. starts moto (SQS) from the project's `.venv`, and the demo's OTLP receiver;
//! 3. runs three functions under the local Lambda emulator (the `lambda-emulator` crate: Runtime,
//!    Extensions and Telemetry APIs), each with the extension as its local collector:
//!    `orders-api` (`aws-http-api`), `billing` (`aws-chain` as the last link) and
//!    `orders-consumer` (`aws-sqs-consumer`);
//! 4. sends two HTTP requests with a `traceparent` into `orders-api` (a cold and a warm
//!    invocation): each sends the order to SQS and invokes `billing` (Lambda -> Lambda); then
//!    delivers the queued messages to `orders-consumer` as Lambda's event source mapping does
//!    (one batch, a span link per message);
//! 5. shuts the functions down (the extensions drain), renders every trace as a waterfall,
//!    the cold and the warm request side by side, and writes the OTLP/JSON to
//!    `target/demo/traces.otlp.jsonl`. Under each waterfall it draws the trace's log lines:
//!    the functions run with `OTEL_LOGS_EXPORTER=otlp`, so their `tracing` lines reach the
//!    receiver as OTLP log records with their trace and span ids (through the extension,
//!    which then leaves the Telemetry API's copy of the same lines alone); they are written
//!    to `target/demo/logs.otlp.jsonl`.

mod log_lines;
mod otlp_json;
mod otlp_sink;
mod sqs;
mod waterfall;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::servers::{MotoServer, free_port};
use crate::venv;
use lambda_emulator::{Emulator, FunctionSpec, InvokeApi, InvokeOptions};

use log_lines::ViewLog;
use otlp_sink::OtlpSink;
use sqs::Sqs;
use waterfall::ViewSpan;

/// The region every demo function and the queue live in.
const REGION: &str = "us-east-1";
/// The queue `orders-api` sends to.
const QUEUE: &str = "orders";
/// The trace ids the demo's two requests carry (the caller's side of the trace).
const COLD_TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const WARM_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Options of `cargo xtask demo`.
#[derive(Debug, Default)]
struct Options {
    release: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    for arg in args {
        match arg.as_str() {
            "--release" => options.release = true,
            other => bail!("unknown argument `{other}` (accepted: --release)"),
        }
    }
    Ok(options)
}

fn step(n: u32, text: &str) {
    eprintln!("xtask: [{n}/6] {text}");
}

/// Runs the demo; returns the exit status.
pub fn run(root: &Path, args: &[String]) -> Result<u8> {
    let options = parse(args)?;
    let started = Instant::now();

    step(1, "building the example functions and the extension");
    let bin_dir = build(root, options.release)?;
    let binary = |name: &str| bin_dir.join(name);

    step(
        2,
        "starting moto (SQS) from ./.venv and the demo's OTLP receiver",
    );
    let venv = venv::ensure(root).context(
        "the demo needs Python 3 with venv and pip (Debian: apt install python3-venv) to install moto",
    )?;
    let log_dir = root.join("target").join("demo");
    fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    let moto = MotoServer::start(&venv, &log_dir)?;
    let sqs = Sqs::new(moto.port(), REGION);
    let queue_url = sqs.create_queue(QUEUE)?;
    let sink = OtlpSink::start()?;
    eprintln!(
        "xtask:   queue {queue_url}; the extensions forward to {}",
        sink.endpoint()
    );

    step(
        3,
        "starting orders-api, billing and orders-consumer under the Lambda emulator",
    );
    let invoke_api = InvokeApi::start()?;
    let extension = binary("faas-otel-extension");
    let moto_url = moto.endpoint();
    let billing = function(
        "billing",
        binary("aws-chain"),
        &extension,
        &sink,
        &log_dir,
        &[],
    )?;
    invoke_api.add(&billing);
    let api = function(
        "orders-api",
        binary("aws-http-api"),
        &extension,
        &sink,
        &log_dir,
        &[
            ("ORDERS_QUEUE_URL", queue_url.as_str()),
            ("BILLING_FUNCTION", "billing"),
            ("AWS_ENDPOINT_URL", moto_url.as_str()),
            ("AWS_ENDPOINT_URL_LAMBDA", invoke_api.endpoint().as_str()),
        ],
    )?;
    let consumer = function(
        "orders-consumer",
        binary("aws-sqs-consumer"),
        &extension,
        &sink,
        &log_dir,
        &[],
    )?;

    step(
        4,
        "two HTTP requests into orders-api (cold, then warm), then the SQS batch",
    );
    let mut request_ids = Vec::new();
    for (label, traceparent, order) in
        [("cold", COLD_TRACEPARENT, 1), ("warm", WARM_TRACEPARENT, 2)]
    {
        let event = http_event("POST", "/orders", traceparent, &json!({ "order": order }));
        let result = api.invoke(
            event.to_string().as_bytes(),
            InvokeOptions {
                traceparent: Some(traceparent.to_owned()),
                client_context: None,
            },
        )?;
        if let Some(error) = &result.error {
            bail!(
                "orders-api failed ({}): {}\nlogs: {}",
                error.error_type,
                result.text(),
                log_dir.display()
            );
        }
        let status = serde_json::from_slice::<Value>(&result.body)
            .ok()
            .and_then(|v| v["statusCode"].as_u64());
        if status != Some(202) {
            bail!(
                "orders-api answered {:?} instead of 202: {}\nlogs: {}",
                status,
                result.text(),
                log_dir.display()
            );
        }
        eprintln!(
            "xtask:   {label}: POST /orders -> 202 in {:.1} ms (request {})",
            result.timings.round_trip().as_secs_f64() * 1e3,
            result.request_id
        );
        request_ids.push(result.request_id);
    }
    deliver_batch(&sqs, &queue_url, &consumer, 2)?;

    step(
        5,
        "shutting the functions down (the extensions drain to the receiver)",
    );
    for emulator in [&api, &billing, &consumer] {
        let report = emulator.shutdown()?;
        for (name, exited) in &report.extensions {
            match exited {
                Some(after) => eprintln!(
                    "xtask:   {}: {name} drained and exited {:.1} ms after SHUTDOWN",
                    emulator.name(),
                    after.as_secs_f64() * 1e3
                ),
                None => eprintln!(
                    "xtask:   {}: {name} did not exit within the shutdown deadline",
                    emulator.name()
                ),
            }
        }
    }

    step(6, "rendering the traces");
    let (spans, file) = collect(&sink, &log_dir)?;
    let logs = collect_logs(&sink, &log_dir)?;
    if spans.is_empty() {
        bail!(
            "the receiver got no span: see the function and extension logs in {}",
            log_dir.display()
        );
    }
    render(&spans, &logs);
    eprintln!(
        "xtask: demo done in {:.1} s. OTLP/JSON: {} ({} spans); logs: {}",
        started.elapsed().as_secs_f64(),
        file.display(),
        spans.len(),
        log_dir.display()
    );
    Ok(0)
}

/// Builds the three example functions and the extension; returns the directory they are in.
fn build(root: &Path, release: bool) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let profile = if release { &["--release"][..] } else { &[][..] };
    for args in [
        &[
            "build",
            "-p",
            "examples",
            "--bin",
            "aws-http-api",
            "--bin",
            "aws-chain",
            "--bin",
            "aws-sqs-consumer",
        ][..],
        &[
            "build",
            "-p",
            "faas-otel-extension",
            "--bin",
            "faas-otel-extension",
        ][..],
    ] {
        let status = Command::new(&cargo)
            .args(args)
            .args(profile)
            .current_dir(root)
            .status()
            .with_context(|| format!("running {cargo} {}", args.join(" ")))?;
        if !status.success() {
            bail!("`cargo {}` failed", args.join(" "));
        }
    }
    Ok(root
        .join("target")
        .join(if release { "release" } else { "debug" }))
}

/// Starts one function with the extension as its local collector.
fn function(
    name: &str,
    binary: PathBuf,
    extension: &Path,
    sink: &OtlpSink,
    log_dir: &Path,
    extra: &[(&str, &str)],
) -> Result<Emulator> {
    let emulator = Emulator::start_in_region(name, REGION)?;
    emulator.log_to(&log_dir.join(format!("{name}.log")))?;
    // Every function has its own extension, so each needs its own loopback ports here.
    let otlp = free_port()?;
    let telemetry = free_port()?;
    let mut spec = FunctionSpec::new(binary);
    spec.extensions.push(extension.to_path_buf());
    spec.memory_mb = 256;
    spec.timeout = Duration::from_secs(10);
    let mut env: Vec<(String, String)> = vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
            format!("http://127.0.0.1:{otlp}"),
        ),
        (
            "FAAS_OTEL_EXTENSION_LISTEN".into(),
            format!("127.0.0.1:{otlp}"),
        ),
        (
            "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN".into(),
            format!("127.0.0.1:{telemetry}"),
        ),
        // An extension built with its gRPC receiver would take 4317 in every function: any
        // free port will do, nothing here sends gRPC.
        (
            "FAAS_OTEL_EXTENSION_GRPC_LISTEN".into(),
            "127.0.0.1:0".into(),
        ),
        ("FAAS_OTEL_EXTENSION_ENDPOINT".into(), sink.endpoint()),
        ("FAAS_OTEL_EXTENSION_PROTOCOL".into(), "http/json".into()),
        ("FAAS_OTEL_EXTENSION_COMPRESSION".into(), "none".into()),
        // The functions' log lines as OTLP records, drawn under each trace's waterfall.
        ("OTEL_LOGS_EXPORTER".into(), "otlp".into()),
        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    spec.env = env;
    emulator.spawn(spec)?;
    let ready = emulator
        .wait_ready(Duration::from_secs(15))
        .with_context(|| {
            format!(
                "{name} did not become ready; its log: {}",
                log_dir.join(format!("{name}.log")).display()
            )
        })?;
    eprintln!(
        "xtask:   {name} ready ({} + faas-otel-extension) in {:.1} ms",
        name,
        ready.as_secs_f64() * 1e3
    );
    Ok(emulator)
}

/// Waits for `expected` messages in the queue and delivers them to `consumer` in one batch,
/// then deletes them (the event source mapping's job).
fn deliver_batch(sqs: &Sqs, queue_url: &str, consumer: &Emulator, expected: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut messages = Vec::new();
    while messages.len() < expected {
        messages.extend(sqs.receive(queue_url)?);
        if messages.len() < expected {
            if Instant::now() > deadline {
                bail!(
                    "only {} of {expected} messages arrived in the queue",
                    messages.len()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let event = sqs::lambda_event(&messages, &sqs.queue_arn(QUEUE), REGION);
    let result = consumer.invoke(event.to_string().as_bytes(), InvokeOptions::default())?;
    if let Some(error) = &result.error {
        bail!(
            "orders-consumer failed ({}): {}",
            error.error_type,
            result.text()
        );
    }
    for message in &messages {
        if let Some(receipt) = message["ReceiptHandle"].as_str() {
            sqs.delete(queue_url, receipt)?;
        }
    }
    eprintln!(
        "xtask:   orders-consumer processed a batch of {} messages in {:.1} ms",
        messages.len(),
        result.timings.round_trip().as_secs_f64() * 1e3
    );
    Ok(())
}

/// An API Gateway HTTP API (payload 2.0) event.
fn http_event(method: &str, path: &str, traceparent: &str, body: &Value) -> Value {
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": "demo.execute-api.us-east-1.amazonaws.com",
            "content-type": "application/json",
            "user-agent": "cargo-xtask-demo",
            "traceparent": traceparent,
        },
        "requestContext": {
            "accountId": lambda_emulator::ACCOUNT_ID,
            "apiId": "demo",
            "domainName": "demo.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "demo",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "cargo-xtask-demo"
            },
            "requestId": format!("demo-{}", std::process::id()),
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "26/Nov/2026:18:00:00 +0000",
            "timeEpoch": 1_795_716_000_000u64
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
}

/// Every span the receiver got, and the file the OTLP/JSON documents were written to (one
/// `ExportTraceServiceRequest` per line, like the OpenTelemetry file exporter).
fn collect(sink: &OtlpSink, dir: &Path) -> Result<(Vec<ViewSpan>, PathBuf)> {
    let mut lines = String::new();
    let mut spans = Vec::new();
    for received in sink.received() {
        if received.path != "/v1/traces" {
            continue;
        }
        let document: Value = serde_json::from_slice(&received.body).with_context(|| {
            format!(
                "the extension sent {} ({}) that is not OTLP/JSON",
                received.path, received.content_type
            )
        })?;
        spans.extend(waterfall::parse_request(&document));
        lines.push_str(&document.to_string());
        lines.push('\n');
    }
    let file = dir.join("traces.otlp.jsonl");
    fs::write(&file, lines).with_context(|| format!("writing {}", file.display()))?;
    Ok((spans, file))
}

/// Every log record the receiver got; the OTLP/JSON documents are written to
/// `logs.otlp.jsonl` in `dir`.
fn collect_logs(sink: &OtlpSink, dir: &Path) -> Result<Vec<ViewLog>> {
    let mut lines = String::new();
    let mut logs = Vec::new();
    for received in sink.received() {
        if received.path != "/v1/logs" {
            continue;
        }
        let document: Value = serde_json::from_slice(&received.body).with_context(|| {
            format!(
                "the extension sent {} ({}) that is not OTLP/JSON",
                received.path, received.content_type
            )
        })?;
        logs.extend(log_lines::parse_request(&document));
        lines.push_str(&document.to_string());
        lines.push('\n');
    }
    let file = dir.join("logs.otlp.jsonl");
    fs::write(&file, lines).with_context(|| format!("writing {}", file.display()))?;
    Ok(logs)
}

/// Prints the two requests' traces (each with its log lines), the traces linked to them, and
/// the comparison.
#[allow(clippy::print_stdout)]
fn render(spans: &[ViewSpan], logs: &[ViewLog]) {
    let draw = |trace: &waterfall::Trace| {
        print!("{}", waterfall::render(trace));
        print!(
            "{}",
            log_lines::render(&trace.trace_id, trace.start_ns(), logs)
        );
    };
    let traces = waterfall::assemble(spans);
    let trace_of = |traceparent: &str| {
        let id = traceparent.split('-').nth(1).unwrap_or_default();
        traces.iter().find(|t| t.trace_id == id)
    };
    let cold = trace_of(COLD_TRACEPARENT);
    let warm = trace_of(WARM_TRACEPARENT);
    for (label, trace) in [("cold request", cold), ("warm request", warm)] {
        println!("\n== {label} ==");
        match trace {
            Some(trace) => draw(trace),
            None => println!("  (no span of this trace arrived)"),
        }
    }
    let requests: Vec<&str> = [cold, warm]
        .iter()
        .flatten()
        .map(|t| t.trace_id.as_str())
        .collect();
    for trace in &traces {
        if requests.contains(&trace.trace_id.as_str()) {
            continue;
        }
        let linked = trace
            .rows
            .iter()
            .any(|(_, s)| s.links.iter().any(|(t, _)| requests.contains(&t.as_str())));
        println!(
            "\n== {} ==",
            if linked {
                "linked trace (the SQS batch: one link per message)"
            } else {
                "other trace"
            }
        );
        draw(trace);
    }
    if let (Some(cold), Some(warm)) = (cold, warm) {
        println!("\n== cold vs warm ==");
        print!("{}", waterfall::compare(cold, warm));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_release_is_accepted() {
        assert!(parse(&["--release".to_owned()]).is_ok_and(|o| o.release));
        assert!(parse(&[]).is_ok_and(|o| !o.release));
        assert!(parse(&["--fast".to_owned()]).is_err());
    }

    #[test]
    fn the_http_event_carries_the_traceparent_and_the_body() {
        let event = http_event("POST", "/orders", COLD_TRACEPARENT, &json!({"order": 1}));
        assert_eq!(event["headers"]["traceparent"], COLD_TRACEPARENT);
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["body"], "{\"order\":1}");
    }
}
