//! The local loop users run: the real `cargo lambda watch` (cargo-lambda from PyPI, path in
//! `FAAS_OTEL_TEST_CARGO_LAMBDA`, set by `cargo xtask test`) builds and runs `aws-http-api`
//! against its own Runtime API; the test invokes it with the real `cargo lambda invoke` and
//! through watch's function-URL endpoint (`/lambda-url/<function>/...`), and checks what
//! reaches the test kit's OTLP receiver: one span per invocation with watch's request id, the
//! cold start exactly once, no failure from watch's deadline, and the JSON log lines
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`) carrying the same request, trace and span ids.
//!
//! watch takes a port number, not a listener (`-P 0` means its default, 9000), so the test
//! picks a random high port and tries another when watch cannot bind it.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use faas_testkit::otlp::proto::tonic::trace::v1::Span;
use faas_testkit::otlp::{OtlpReceiver, hex, str_attr};
use faas_testkit::{Process, SplitMix64, http_request, wait_until};

const VAR: &str = "FAAS_OTEL_TEST_CARGO_LAMBDA";
const FUNCTION: &str = "aws-http-api";

/// The cargo-lambda binary, or `None` (the test is skipped, visibly; `CI=true` fails).
fn cargo_lambda() -> Option<String> {
    match std::env::var(VAR) {
        Ok(path) if !path.trim().is_empty() => Some(path),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
            assert!(
                !ci,
                "{VAR} is not set and CI=true: run the tests with `cargo xtask test`"
            );
            eprintln!(
                "SKIPPED cargo_lambda_watch: {VAR} is not set; `cargo xtask test` installs \
                 cargo-lambda and sets it"
            );
            None
        }
    }
}

/// `cargo lambda watch` serving the function on `127.0.0.1:<port>`, in its own process group
/// (it starts `cargo run`, which starts the function) so that the whole tree can be stopped.
struct Watch {
    process: Process,
    port: u16,
}

impl Watch {
    fn start(cargo_lambda: &str, collector: &OtlpReceiver) -> Watch {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let mut random = SplitMix64::new(u64::from(std::process::id()) ^ u64::from(nanos));
        for _ in 0..5 {
            let port = 20_000 + u16::try_from(random.next_u64() % 40_000).unwrap();
            let env = format!(
                "OTEL_EXPORTER_OTLP_ENDPOINT={},OTEL_METRICS_EXPORTER=none,AWS_LAMBDA_LOG_FORMAT=JSON",
                collector.url()
            );
            let mut command = Command::new("setsid");
            command
                .arg(cargo_lambda)
                .args(["lambda", "watch", "-A", "127.0.0.1", "-P"])
                .arg(port.to_string())
                // Other work in the checkout must not restart the function mid-test.
                .args([
                    "--ignore-changes",
                    "--package",
                    "examples",
                    "--bin",
                    FUNCTION,
                ])
                .args(["--env-var", &env])
                // From the examples' directory, watch's `cargo run` uses the workspace's
                // target dir (or the inherited CARGO_TARGET_DIR), as `cargo test` does.
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            let mut process = Process::spawn_named("cargo-lambda-watch", command).unwrap();
            let started = process.wait_for_stdout_line(Duration::from_secs(60), |line| {
                line.contains("starting Runtime server")
            });
            if started.is_ok() && process.try_exit().unwrap().is_none() {
                return Watch { process, port };
            }
            eprintln!(
                "cargo lambda watch did not start on {port}: {}{}",
                process.stdout(),
                process.stderr()
            );
        }
        panic!("cargo lambda watch did not start on any of 5 ports");
    }

    /// `GET` of `path` through watch's function-URL endpoint: the status.
    fn get(&self, path: &str) -> u16 {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let url_path = format!("/lambda-url/{FUNCTION}{path}");
        let (status, _body) = http_request(addr, "GET", &url_path, None, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("GET {url_path}: {e}\n{}", self.output()));
        status
    }

    /// Everything watch and the function printed.
    fn output(&self) -> String {
        format!("{}{}", self.process.stdout(), self.process.stderr())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The process group: watch, its `cargo run` and the function.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.process.pid())])
            .status();
        self.process.kill();
    }
}

fn span_of<'a>(spans: &'a [Span], request_id: &str) -> &'a Span {
    spans
        .iter()
        .find(|s| str_attr(&s.attributes, "faas.invocation_id") == Some(request_id))
        .unwrap_or_else(|| panic!("no span for {request_id}"))
}

/// The JSON log lines the function printed with `requestId` = `request_id`.
fn log_lines(output: &str, request_id: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line.trim()).ok())
        .filter(|line| line["requestId"] == request_id)
        .collect()
}

#[test]
fn cargo_lambda_watch_runs_the_example_traced_with_correlated_logs() {
    let Some(cargo_lambda) = cargo_lambda() else {
        return;
    };
    let collector = OtlpReceiver::start().unwrap();
    let watch = Watch::start(&cargo_lambda, &collector);

    // 1. `cargo lambda invoke` with a function URL event: watch builds and starts the
    //    function first (the build is measured, not asserted).
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/hello",
        "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.eu-west-1.on.aws", "user-agent": "cargo-lambda"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc",
            "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "http": {"method": "GET", "path": "/hello", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "cargo-lambda"},
            "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "timeEpoch": 1795716000000u64
        },
        "isBase64Encoded": false
    });
    let started = Instant::now();
    let invoked = Command::new(&cargo_lambda)
        .args(["lambda", "invoke", FUNCTION, "-A", "127.0.0.1", "-P"])
        .arg(watch.port.to_string())
        .args(["--data-ascii", &event.to_string()])
        .output()
        .unwrap();
    let build_and_first = started.elapsed();
    let answer = String::from_utf8_lossy(&invoked.stdout).into_owned();
    assert!(
        invoked.status.success(),
        "{answer}{}\n{}",
        String::from_utf8_lossy(&invoked.stderr),
        watch.output()
    );
    let answer: serde_json::Value = serde_json::from_str(answer.trim()).unwrap();
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(answer["body"], "hello");
    // Measured, not asserted: watch's `cargo run -p examples` resolves the example's own
    // feature set (not the workspace test build's), so a cold target dir builds part of the
    // tree once more; later runs reuse it.
    eprintln!(
        "cargo lambda watch: build + first invocation {:.1} s",
        build_and_first.as_secs_f64()
    );

    // 2. and 3. Through watch's HTTP endpoint, function URL-style.
    assert_eq!(watch.get("/hello"), 200);
    assert_eq!(watch.get("/fail"), 500);

    // The three invocation spans (and the initialization's).
    let spans = wait_until("3 invocation spans", Duration::from_secs(30), || {
        let spans = collector.spans();
        let n = spans
            .iter()
            .filter(|s| str_attr(&s.attributes, "faas.invocation_id").is_some())
            .count();
        (n >= 3).then_some(spans)
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", collector.span_names(), watch.output()));
    let invocations: Vec<&Span> = spans
        .iter()
        .filter(|s| str_attr(&s.attributes, "faas.invocation_id").is_some())
        .collect();
    assert_eq!(invocations.len(), 3, "{:?}", collector.span_names());
    let cold: Vec<_> = invocations
        .iter()
        .filter(|s| faas_testkit::otlp::bool_attr(&s.attributes, "faas.coldstart") == Some(true))
        .collect();
    assert_eq!(cold.len(), 1, "the cold start exactly once");
    assert_eq!(collector.spans_named("faas init").len(), 1);

    let mut ids: Vec<&str> = invocations
        .iter()
        .map(|s| str_attr(&s.attributes, "faas.invocation_id").unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        3,
        "watch gives each invocation its own request id"
    );

    let output = watch.output();
    for id in &ids {
        let span = span_of(&spans, id);
        let path = str_attr(&span.attributes, "url.path").unwrap();
        // No failure from watch's deadline (1970, or none): nothing timed out.
        assert_ne!(
            str_attr(&span.attributes, "error.type"),
            Some("timeout"),
            "{id}"
        );
        let failed = span.status.as_ref().is_some_and(|s| s.code == 2);
        assert_eq!(failed, path == "/fail", "{id} {path}");
        if path == "/fail" {
            // The error line, tied to the failed invocation's trace.
            let lines = log_lines(&output, id);
            let line = lines
                .iter()
                .find(|l| l["message"] == "order lookup failed")
                .unwrap_or_else(|| panic!("no log line for {id}:\n{output}"));
            assert_eq!(line["level"], "ERROR");
            assert_eq!(line["traceId"], hex(&span.trace_id));
            assert_eq!(line["spanId"], hex(&span.span_id));
            assert_eq!(line["cause"], "the order service is unavailable");
        }
    }
}
