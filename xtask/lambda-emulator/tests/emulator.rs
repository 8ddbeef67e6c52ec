//! Protocol-level tests of the emulator: a tiny runtime and a tiny extension written against
//! the documented APIs with ureq, a Telemetry API subscriber on tiny_http, the Invoke API, and
//! a real function binary when one is built.
#![allow(clippy::unwrap_used)]

mod client;
mod telemetry_sink;

use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_emulator::{
    ACCOUNT_ID, Emulator, FunctionError, FunctionSpec, InvokeApi, InvokeOptions,
};
use serde_json::{Value, json};

use client::{Response, send};
use telemetry_sink::telemetry_sink;

const WAIT: Duration = Duration::from_secs(10);

fn get(api: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    send(api, "GET", path, headers, b"", Duration::from_secs(20)).unwrap()
}

fn post(api: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    send(api, "POST", path, headers, body, WAIT).unwrap()
}

fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Lambda bills every started millisecond.
fn billed_ms(duration: Duration) -> u64 {
    (duration.as_micros().div_ceil(1000) as u64).max(1)
}
/// What the fake runtime saw of one invocation.
#[derive(Debug)]
struct Seen {
    request_id: String,
    trace: Option<String>,
    client_context: Option<String>,
    arn: Option<String>,
    deadline_ms: u64,
    body: String,
}

/// A runtime that answers `n` invocations with `answer(body)` (Ok: response, Err: error type).
fn fake_runtime(
    api: String,
    n: usize,
    answer: fn(&str) -> Result<String, String>,
) -> thread::JoinHandle<Vec<Seen>> {
    thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..n {
            let next = get(&api, "/2018-06-01/runtime/invocation/next", &[]);
            assert_eq!(next.status, 200);
            let id = next
                .header("lambda-runtime-aws-request-id")
                .unwrap()
                .to_string();
            let body = next.text();
            match answer(&body) {
                Ok(response) => {
                    let r = post(
                        &api,
                        &format!("/2018-06-01/runtime/invocation/{id}/response"),
                        &[],
                        response.as_bytes(),
                    );
                    assert_eq!(r.status, 202);
                }
                Err(error_type) => {
                    let doc =
                        json!({ "errorType": error_type, "errorMessage": "boom" }).to_string();
                    let r = post(
                        &api,
                        &format!("/2018-06-01/runtime/invocation/{id}/error"),
                        &[("Lambda-Runtime-Function-Error-Type", &error_type)],
                        doc.as_bytes(),
                    );
                    assert_eq!(r.status, 202);
                }
            }
            seen.push(Seen {
                request_id: id,
                trace: next.header("lambda-runtime-trace-id").map(str::to_string),
                client_context: next
                    .header("lambda-runtime-client-context")
                    .map(str::to_string),
                arn: next
                    .header("lambda-runtime-invoked-function-arn")
                    .map(str::to_string),
                deadline_ms: next
                    .header("lambda-runtime-deadline-ms")
                    .unwrap()
                    .parse()
                    .unwrap(),
                body,
            });
        }
        // Back in `next`: the long poll that ends the last invocation (cut at shutdown).
        let _ = send(
            &api,
            "GET",
            "/2018-06-01/runtime/invocation/next",
            &[],
            b"",
            Duration::from_secs(30),
        );
        seen
    })
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn runtime_extension_and_telemetry_follow_lambda_semantics() {
    let emulator = Emulator::start("orders").unwrap();
    let api = emulator.runtime_api();

    // An extension registers, subscribes to the Telemetry API, and calls next (init done).
    let register = post(
        &api,
        "/2020-01-01/extension/register",
        &[
            ("Lambda-Extension-Name", "probe"),
            ("Lambda-Extension-Accept-Feature", "accountId"),
        ],
        br#"{"events":["INVOKE","SHUTDOWN"]}"#,
    );
    assert_eq!(register.status, 200);
    let ext_id = register
        .header("lambda-extension-identifier")
        .unwrap()
        .to_string();
    let registered: Value = serde_json::from_slice(&register.body).unwrap();
    assert_eq!(registered["functionName"], "orders");
    assert_eq!(registered["functionVersion"], "$LATEST");
    assert_eq!(registered["accountId"], ACCOUNT_ID);
    let (sink_port, telemetry) = telemetry_sink(202, "{}");
    let subscription = json!({
        "schemaVersion": "2022-12-13",
        "destination": { "protocol": "HTTP", "URI": format!("http://sandbox.localdomain:{sink_port}/t") },
        "types": ["platform"],
        "buffering": { "timeoutMs": 25 },
    });
    let subscribed = send(
        &api,
        "PUT",
        "/2022-07-01/telemetry",
        &[("Lambda-Extension-Identifier", &ext_id)],
        subscription.to_string().as_bytes(),
        WAIT,
    )
    .unwrap();
    assert_eq!((subscribed.status, subscribed.text().as_str()), (200, "OK"));

    // The extension thread: every event is passed to the test, which says when to call next.
    let (events_tx, events_rx) = mpsc::channel::<Value>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let ext_api = api.clone();
    let extension = thread::spawn(move || {
        loop {
            let event = get(
                &ext_api,
                "/2020-01-01/extension/event/next",
                &[("Lambda-Extension-Identifier", &ext_id)],
            );
            assert_eq!(event.status, 200);
            assert!(event.header("lambda-extension-event-identifier").is_some());
            let event: Value = serde_json::from_slice(&event.body).unwrap();
            let shutdown = event["eventType"] == "SHUTDOWN";
            events_tx.send(event).unwrap();
            if shutdown {
                return;
            }
            go_rx.recv().unwrap();
        }
    });

    let runtime = fake_runtime(api.clone(), 2, |body| Ok(format!("{{\"echo\":{body}}}")));
    assert!(emulator.wait_ready(WAIT).is_ok());

    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let first = emulator
        .invoke(
            br#"{"n":1}"#,
            InvokeOptions {
                traceparent: Some(traceparent.into()),
                client_context: Some(r#"{"custom":{"k":"v"}}"#.into()),
            },
        )
        .unwrap();
    assert_eq!(first.text(), r#"{"echo":{"n":1}}"#);
    assert_eq!(first.error, None);
    assert_eq!(
        first.trace_header,
        "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1"
    );
    let invoke_event = events_rx.recv_timeout(WAIT).unwrap();
    assert_eq!(invoke_event["eventType"], "INVOKE");
    assert_eq!(invoke_event["requestId"], first.request_id.as_str());
    assert_eq!(
        invoke_event["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:orders"
    );
    assert_eq!(
        invoke_event["tracing"]["value"],
        first.trace_header.as_str()
    );

    // Answered, but the extension is still busy: the environment is not idle, no report yet.
    assert!(
        emulator
            .wait_report(&first.request_id, Duration::from_millis(300))
            .is_err()
    );
    go_tx.send(()).unwrap();
    let report = emulator.wait_report(&first.request_id, WAIT).unwrap();
    assert_eq!(report.status, "success");
    assert_eq!(report.memory_size_mb, 128);
    assert!(report.init_duration.is_some());
    assert!(report.idle >= first.timings.completed);
    assert_eq!(report.billed_duration_ms, billed_ms(report.duration));

    let second = emulator.invoke(b"2", InvokeOptions::default()).unwrap();
    assert_eq!(second.text(), r#"{"echo":2}"#);
    assert!(
        second.trace_header.ends_with(";Sampled=0"),
        "{}",
        second.trace_header
    );
    assert_eq!(
        events_rx.recv_timeout(WAIT).unwrap()["requestId"],
        second.request_id.as_str()
    );
    go_tx.send(()).unwrap();
    let report = emulator.wait_report(&second.request_id, WAIT).unwrap();
    assert_eq!(report.init_duration, None);

    let shutdown = emulator.shutdown().unwrap();
    assert!(!shutdown.runtime_exited); // not spawned
    let shutdown_event = events_rx.recv_timeout(WAIT).unwrap();
    assert_eq!(shutdown_event["eventType"], "SHUTDOWN");
    assert_eq!(shutdown_event["shutdownReason"], "spindown");
    extension.join().unwrap();
    let seen = runtime.join().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].request_id, first.request_id);
    assert_eq!(seen[0].body, r#"{"n":1}"#);
    assert_eq!(seen[0].trace.as_deref(), Some(first.trace_header.as_str()));
    assert_eq!(
        seen[0].client_context.as_deref(),
        Some(r#"{"custom":{"k":"v"}}"#)
    );
    assert_eq!(seen[0].arn.as_deref(), Some(emulator.function_arn()));
    let now_ms = epoch_ms(SystemTime::now());
    assert!(seen[0].deadline_ms > now_ms - 60_000 && seen[0].deadline_ms <= now_ms + 3_000);
    assert_eq!(seen[1].client_context, None);

    let expected = [
        "platform.initStart",
        "platform.extension",
        "platform.telemetrySubscription",
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ];
    assert_eq!(types(&emulator.platform_events()), expected);
    // The subscriber got the same, init events included (replayed at subscription).
    let mut delivered = Vec::new();
    while delivered.len() < expected.len() {
        let batch = telemetry.recv_timeout(WAIT).unwrap();
        delivered.extend(batch.as_array().unwrap().iter().cloned());
    }
    assert_eq!(types(&delivered), expected);
    let report = &delivered[7]["record"];
    assert_eq!(report["requestId"], first.request_id.as_str());
    assert_eq!(report["metrics"]["memorySizeMB"], 128);
    assert!(report["metrics"]["initDurationMs"].is_number());
    assert!(
        delivered[10]["record"]["metrics"]
            .get("initDurationMs")
            .is_none()
    );
    assert_eq!(delivered[6]["record"]["metrics"]["producedBytes"], 16);
    assert!(delivered[0]["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn function_errors_and_bad_requests() {
    let emulator = Emulator::start("failing").unwrap();
    let api = emulator.runtime_api();
    let runtime = fake_runtime(api.clone(), 1, |_| Err("Handled.Oops".into()));
    let result = emulator.invoke(b"{}", InvokeOptions::default()).unwrap();
    assert_eq!(
        result.error,
        Some(FunctionError {
            error_type: "Handled.Oops".into()
        })
    );
    let doc: Value = serde_json::from_slice(&result.body).unwrap();
    assert_eq!(doc["errorMessage"], "boom");
    assert_eq!(
        emulator
            .wait_report(&result.request_id, WAIT)
            .unwrap()
            .status,
        "error"
    );
    // Answering an invocation that is not in flight is refused.
    let r = post(
        &api,
        "/2018-06-01/runtime/invocation/nope/response",
        &[],
        b"{}",
    );
    assert_eq!(r.status, 400);
    // Extension calls need a registered identifier; registration needs a name.
    let r = get(
        &api,
        "/2020-01-01/extension/event/next",
        &[("Lambda-Extension-Identifier", "x")],
    );
    assert_eq!(r.status, 403);
    let r = post(
        &api,
        "/2020-01-01/extension/register",
        &[],
        br#"{"events":[]}"#,
    );
    assert_eq!(r.status, 400);
    // Registration after the init phase is refused.
    let r = post(
        &api,
        "/2020-01-01/extension/register",
        &[("Lambda-Extension-Name", "late")],
        br#"{"events":["INVOKE"]}"#,
    );
    assert_eq!(r.status, 403);
    assert_eq!(get(&api, "/nothing", &[]).status, 404);
    drop(emulator);
    runtime.join().unwrap();
}

#[test]
fn init_errors_fail_invocations() {
    let emulator = Emulator::start("broken").unwrap();
    let api = emulator.runtime_api();
    let r = post(
        &api,
        "/2018-06-01/runtime/init/error",
        &[("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")],
        br#"{"errorMessage":"no table","errorType":"Runtime.ConfigError"}"#,
    );
    assert_eq!(r.status, 202);
    let result = emulator.invoke(b"{}", InvokeOptions::default()).unwrap();
    assert_eq!(result.error.unwrap().error_type, "Runtime.ConfigError");
    assert_eq!(result.timings.delivered, None);
    assert_eq!(emulator.init_error().unwrap().0, "Runtime.ConfigError");
}

#[test]
fn a_runtime_that_exits_fails_the_invocation_and_is_started_again() {
    let emulator = Emulator::start("crashing").unwrap();
    let mut spec = FunctionSpec::new("/bin/sh");
    spec.timeout = Duration::from_secs(5);
    // /bin/sh with no script reads stdin (null) and exits at once: a runtime that dies in init.
    emulator.spawn(spec).unwrap();
    let result = emulator.invoke(b"{}", InvokeOptions::default()).unwrap();
    assert_eq!(result.error.unwrap().error_type, "Runtime.ExitError");
    assert!(emulator.wait_ready(Duration::from_millis(10)).is_err());
    // The next invocation starts the environment again (and fails the same way).
    let result = emulator.invoke(b"{}", InvokeOptions::default()).unwrap();
    assert_eq!(result.error.unwrap().error_type, "Runtime.ExitError");
    let starts = types(&emulator.platform_events())
        .iter()
        .filter(|t| *t == "platform.initStart")
        .count();
    assert_eq!(starts, 2);
}

#[test]
fn invoke_api_routes_to_the_named_function() {
    let emulator = Emulator::start("billing").unwrap();
    let invoke_api = InvokeApi::start().unwrap();
    invoke_api.add(&emulator);
    let runtime = fake_runtime(emulator.runtime_api(), 1, |body| Ok(body.to_string()));
    let endpoint = invoke_api.endpoint();
    let addr = endpoint.trim_start_matches("http://");
    // {"custom":{"traceparent":"x"}} in base64, as the SDK sends it.
    let context = "eyJjdXN0b20iOnsidHJhY2VwYXJlbnQiOiJ4In19";
    let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let r = post(
        addr,
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Abilling/invocations",
        &[("X-Amz-Client-Context", context), ("X-Amzn-Trace-Id", xray)],
        br#"{"order":7}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"order":7}"#);
    assert_eq!(r.header("x-amz-executed-version"), Some("$LATEST"));
    assert_eq!(r.header("x-amz-function-error"), None);
    let r = post(addr, "/2015-03-31/functions/nobody/invocations", &[], b"{}");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    let r = post(
        addr,
        "/2015-03-31/functions/billing/invocations",
        &[("X-Amz-Invocation-Type", "DryRun")],
        b"{}",
    );
    assert_eq!(r.status, 204);
    drop(emulator);
    let seen = runtime.join().unwrap();
    assert_eq!(
        seen[0].client_context.as_deref(),
        Some(r#"{"custom":{"traceparent":"x"}}"#)
    );
    assert_eq!(seen[0].trace.as_deref(), Some(xray));
}

/// A real function: the `bench-bare` example (`lambda_runtime`), when it is built. Runs in
/// `cargo xtask test` after the workspace build; says so when the binary is missing.
#[test]
fn runs_a_real_lambda_runtime_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Some(binary) = ["debug", "release"]
        .iter()
        .map(|p| root.join("target").join(p).join("bench-bare"))
        .find(|p| p.is_file())
    else {
        eprintln!(
            "SKIPPED runs_a_real_lambda_runtime_binary: build it with `cargo build -p bench-bare`"
        );
        return;
    };
    let emulator = Emulator::start("bare").unwrap();
    let mut spec = FunctionSpec::new(binary);
    spec.memory_mb = 256;
    spec.timeout = Duration::from_secs(10);
    emulator.spawn(spec).unwrap();
    let cold_start = emulator.wait_ready(Duration::from_secs(30)).unwrap();
    assert!(cold_start > Duration::ZERO);
    for n in 0..3 {
        let result = emulator
            .invoke(
                format!("{{\"n\":{n}}}").as_bytes(),
                InvokeOptions::default(),
            )
            .unwrap();
        assert_eq!(result.error, None, "{}", result.text());
        assert_eq!(result.text(), r#"{"ok":true}"#);
        let report = emulator.wait_report(&result.request_id, WAIT).unwrap();
        assert_eq!(report.memory_size_mb, 256);
        assert!(report.max_memory_used_mb >= 1);
        assert_eq!(report.init_duration.is_some(), n == 0);
    }
    let memory = emulator.process_memory();
    assert_eq!(memory.len(), 1);
    assert_eq!(memory[0].name, "bench-bare");
    let report = emulator.shutdown().unwrap();
    // No extension registered: Lambda kills the runtime without SIGTERM.
    assert!(!report.runtime_exited);
    assert!(emulator.invoke(b"{}", InvokeOptions::default()).is_err());
}
