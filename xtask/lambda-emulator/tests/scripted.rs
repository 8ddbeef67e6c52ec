//! The scripted mode, driven by a hand-written extension (ureq against the documented
//! Extensions and Telemetry APIs).
#![allow(clippy::unwrap_used)]

mod client;
mod telemetry_sink;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_emulator::{
    DEFAULT_TRACE_HEADER, Entry, InvokeEvent, ScriptedLambda, ScriptedOptions, Sequence,
};
use serde_json::{Value, json};

use client::{Response, send};
use telemetry_sink::telemetry_sink;

/// One call; every status is an answer.
fn exchange(api: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    send(
        api,
        method,
        path,
        headers,
        body.as_bytes(),
        Duration::from_secs(30),
    )
    .unwrap()
}

/// `(status, identifier header, body)` of one call to the Extensions or Telemetry API.
fn call(
    api: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Option<String>, Value) {
    let response = exchange(api, method, path, headers, body);
    let text = response.text();
    let id = [
        "lambda-extension-identifier",
        "lambda-extension-event-identifier",
    ]
    .iter()
    .find_map(|h| response.header(h))
    .map(str::to_string);
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (response.status, id, body)
}

fn register(api: &str, name: &str, events: &[&str]) -> (u16, Option<String>, Value) {
    let body = json!({ "events": events }).to_string();
    call(
        api,
        "POST",
        "/2020-01-01/extension/register",
        &[("Lambda-Extension-Name", name)],
        &body,
    )
}

fn subscribe(api: &str, id: &str, schema: &str, uri: &str) -> u16 {
    let body = json!({
        "schemaVersion": schema,
        "destination": { "protocol": "HTTP", "URI": uri },
        "types": ["platform"],
        "buffering": { "timeoutMs": 25 },
    })
    .to_string();
    let headers = [("Lambda-Extension-Identifier", id)];
    call(api, "PUT", "/2022-07-01/telemetry", &headers, &body).0
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn an_extension_is_driven_event_by_event_and_observed_in_order() {
    let sequence = Sequence::new();
    let lambda = ScriptedLambda::start_with(ScriptedOptions {
        sequence: sequence.clone(),
        ..ScriptedOptions::default()
    })
    .unwrap();
    let env = lambda.env();
    assert!(env.contains(&("AWS_LAMBDA_RUNTIME_API".into(), lambda.runtime_api())));
    assert!(env.contains(&("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into())));
    let api = lambda.runtime_api();

    let (status, id, body) = register(&api, "probe", &["INVOKE", "SHUTDOWN"]);
    assert_eq!(status, 200);
    assert_eq!(body["functionName"], "orders");
    let id = id.unwrap();
    let (port, batches) = telemetry_sink(200, "");
    let uri = format!("http://sandbox.localdomain:{port}/telemetry");
    assert_eq!(subscribe(&api, &id, "2022-12-13", &uri), 200);
    assert_eq!(
        lambda.destination().as_deref(),
        Some(format!("http://127.0.0.1:{port}/telemetry").as_str())
    );
    assert_eq!(lambda.subscriptions()[0]["schemaVersion"], "2022-12-13");

    // The extension's event loop, in a thread: every event goes to the test.
    let (events_tx, events_rx) = mpsc::channel();
    let ext_api = api.clone();
    let ext_id = id.clone();
    let extension = thread::spawn(move || {
        loop {
            let headers = [("Lambda-Extension-Identifier", ext_id.as_str())];
            let (status, event_id, event) = call(
                &ext_api,
                "GET",
                "/2020-01-01/extension/event/next",
                &headers,
                "",
            );
            assert_eq!(status, 200);
            assert!(event_id.is_some());
            let shutdown = event["eventType"] == "SHUTDOWN";
            events_tx.send(event).unwrap();
            if shutdown {
                let error = r#"{"errorType":"Extension.Flush","errorMessage":"lost 3"}"#;
                let headers = [
                    ("Lambda-Extension-Identifier", ext_id.as_str()),
                    ("Lambda-Extension-Function-Error-Type", "Extension.Flush"),
                ];
                call(
                    &ext_api,
                    "POST",
                    "/2020-01-01/extension/exit/error",
                    &headers,
                    error,
                );
                return;
            }
        }
    });
    let first_next = lambda.wait_nexts(1);

    let trace = "Root=1-00000000-000000000000000000000001;Sampled=1";
    let delivered = lambda.invoke_and_wait(
        InvokeEvent::new("req-1")
            .deadline_in(Duration::from_secs(5))
            .trace_header(trace)
            .invoked_function_arn("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
    );
    let event = events_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(event["eventType"], "INVOKE");
    assert_eq!(event["requestId"], "req-1");
    assert_eq!(event["tracing"]["value"], trace);
    assert_eq!(
        event["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:orders:live"
    );
    let deadline = event["deadlineMs"].as_u64().unwrap();
    assert!(deadline > now_ms() && deadline <= now_ms() + 5_000);
    let second_next = lambda.wait_nexts(2);
    assert!(first_next < delivered && delivered < second_next);

    // Defaults: the function's ARN, the default trace header, 30 s.
    lambda.invoke(InvokeEvent::new("req-2"));
    let event = events_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(event["invokedFunctionArn"], lambda.function_arn());
    assert_eq!(event["tracing"]["value"], DEFAULT_TRACE_HEADER);
    lambda.wait_nexts(3);

    let batch = json!([{ "time": "2026-12-01T10:00:00.000Z", "type": "platform.start",
                         "record": { "requestId": "req-2", "version": "$LATEST" } }]);
    assert_eq!(lambda.post_telemetry(batch.to_string()).unwrap(), 200);
    assert_eq!(
        batches.recv_timeout(Duration::from_secs(10)).unwrap(),
        batch
    );

    lambda.shutdown("spindown", Duration::from_secs(2));
    let event = events_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(event["shutdownReason"], "spindown");
    extension.join().unwrap();
    lambda.wait_until("the exit error", |entries| {
        entries
            .iter()
            .any(|l| matches!(l.entry, Entry::ExitError { .. }))
    });
    assert_eq!(
        lambda.exit_errors(),
        [(
            "Extension.Flush".to_string(),
            r#"{"errorType":"Extension.Flush","errorMessage":"lost 3"}"#.to_string()
        )]
    );

    let entries = lambda.entries();
    let seqs: Vec<u64> = entries.iter().map(|l| l.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let kinds: Vec<String> = entries
        .iter()
        .map(|l| match &l.entry {
            Entry::Register { name, .. } => format!("register {name}"),
            Entry::Subscribe { accepted, .. } => format!("subscribe {accepted}"),
            Entry::Next { .. } => "next".into(),
            Entry::Delivered { id, .. } => format!("delivered {id}"),
            Entry::TelemetryPosted { status } => format!("posted {status:?}"),
            Entry::InitError { .. } => "init error".into(),
            Entry::ExitError { error_type, .. } => format!("exit error {error_type}"),
            other => format!("{other:?}"),
        })
        .collect();
    // The post lands between the second next and the SHUTDOWN's delivery.
    assert_eq!(
        kinds,
        [
            "register probe",
            "subscribe true",
            "next",
            "delivered req-1",
            "next",
            "delivered req-2",
            "next",
            "posted Some(200)",
            "delivered SHUTDOWN",
            "exit error Extension.Flush",
        ]
    );
    assert_eq!(lambda.nexts(), 3);
    // The sequence is shared: the test's own numbers come after.
    assert_eq!(sequence.tick(), seqs[seqs.len() - 1] + 1);
}

#[test]
fn managed_instances_refuse_invoke_and_old_telemetry_schemas() {
    let lambda = ScriptedLambda::start_with(ScriptedOptions {
        managed_instances: true,
        ..ScriptedOptions::default()
    })
    .unwrap();
    assert!(lambda.env().contains(&(
        "AWS_LAMBDA_INITIALIZATION_TYPE".into(),
        "lambda-managed-instances".into()
    )));
    let api = lambda.runtime_api();
    let (status, id, body) = register(&api, "probe", &["INVOKE", "SHUTDOWN"]);
    assert_eq!((status, id), (400, None));
    assert_eq!(body["errorType"], "InvalidRequest");
    let (status, id, _) = register(&api, "probe", &["SHUTDOWN"]);
    assert_eq!(status, 200);
    let id = id.unwrap();
    assert_eq!(
        lambda.registrations(),
        [
            (
                "probe".into(),
                vec!["INVOKE".into(), "SHUTDOWN".into()],
                true
            ),
            ("probe".into(), vec!["SHUTDOWN".into()], false),
        ]
    );
    assert_eq!(subscribe(&api, &id, "2022-12-13", "http://sandbox:9/"), 400);
    assert_eq!(lambda.destination(), None);
    assert_eq!(subscribe(&api, &id, "2025-01-29", "http://sandbox:9/"), 200);
    assert_eq!(lambda.destination().as_deref(), Some("http://127.0.0.1:9/"));
    let headers = [("Lambda-Extension-Identifier", id.as_str())];
    let logs = call(&api, "PUT", "/2020-08-15/logs", &headers, "{}");
    assert_eq!(logs.0, 404);
    // An INVOKE is never handed to an extension that did not ask for it.
    lambda.invoke(InvokeEvent::new("req-1"));
    lambda.shutdown("spindown", Duration::from_secs(2));
    let (status, _, event) = call(
        &api,
        "GET",
        "/2020-01-01/extension/event/next",
        &headers,
        "",
    );
    assert_eq!(
        (status, event["eventType"].as_str()),
        (200, Some("SHUTDOWN"))
    );
    assert_eq!(lambda.count(|e| e.is_delivery_of("req-1")), 0);
}

#[test]
fn errors_restarts_and_strangers_are_recorded() {
    let lambda = ScriptedLambda::start().unwrap();
    let api = lambda.runtime_api();
    // An init error from a registered extension, then the same extension started again.
    let (_, first, _) = register(&api, "probe", &["INVOKE"]);
    let first = first.unwrap();
    let headers = [
        ("Lambda-Extension-Identifier", first.as_str()),
        (
            "Lambda-Extension-Function-Error-Type",
            "Extension.ConfigError",
        ),
    ];
    let body = r#"{"errorType":"Extension.ConfigError","errorMessage":"bad FOO"}"#;
    let (status, _, _) = call(
        &api,
        "POST",
        "/2020-01-01/extension/init/error",
        &headers,
        body,
    );
    assert_eq!(status, 202);
    let (status, second, _) = register(&api, "probe", &["INVOKE"]);
    assert_eq!(status, 200);
    let second = second.unwrap();
    assert_ne!(first, second);
    // The replaced identifier is unknown now; an unknown one still has its error recorded.
    let stale = [("Lambda-Extension-Identifier", first.as_str())];
    let (status, _, _) = call(&api, "GET", "/2020-01-01/extension/event/next", &stale, "");
    assert_eq!(status, 403);
    let (status, _, _) = call(
        &api,
        "POST",
        "/2020-01-01/extension/exit/error",
        &[],
        "gone",
    );
    assert_eq!(status, 403);
    assert_eq!(
        lambda.init_errors(),
        [("Extension.ConfigError".to_string(), body.to_string())]
    );
    assert_eq!(
        lambda.exit_errors(),
        [("Extension.Unknown".to_string(), "gone".to_string())]
    );
    // Registration needs a name; a malformed one is recorded as refused.
    let (status, _, _) = call(&api, "POST", "/2020-01-01/extension/register", &[], "{}");
    assert_eq!(status, 400);
    assert_eq!(lambda.registrations().len(), 3);
    assert!(lambda.registrations()[2].2);
    // Posting before any subscription fails (after the patience); not tried here. A queued
    // event reaches the restarted extension.
    lambda.invoke(InvokeEvent::new("req-9"));
    let fresh = [("Lambda-Extension-Identifier", second.as_str())];
    let (_, _, event) = call(&api, "GET", "/2020-01-01/extension/event/next", &fresh, "");
    assert_eq!(event["requestId"], "req-9");
    assert_eq!(
        lambda.wait_delivered("req-9"),
        lambda.entries().last().unwrap().seq
    );
}

/// A runtime's `GET next`: `(request id, headers, event)`.
fn runtime_next(api: &str) -> (String, Response, String) {
    let head = exchange(api, "GET", "/2018-06-01/runtime/invocation/next", &[], "");
    let event = head.text();
    assert_eq!(head.status, 200, "{event}");
    let id = head
        .header("lambda-runtime-aws-request-id")
        .unwrap()
        .to_string();
    (id, head, event)
}

/// A runtime's `POST invocation/{id}/{kind}`: the status.
fn runtime_post(api: &str, id: &str, kind: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    let path = format!("/2018-06-01/runtime/invocation/{id}/{kind}");
    exchange(api, "POST", &path, headers, body).status
}

#[test]
fn a_function_gets_the_runtime_headers_and_its_answers_are_recorded() {
    let lambda = ScriptedLambda::start_with(ScriptedOptions {
        region: "eu-west-1".into(),
        ..ScriptedOptions::default()
    })
    .unwrap();
    assert_eq!(
        lambda.function_arn(),
        "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    );
    assert!(
        !lambda
            .env()
            .iter()
            .any(|(k, _)| k == "AWS_LAMBDA_MAX_CONCURRENCY"),
        "on demand: one invocation at a time, no variable"
    );
    let api = lambda.runtime_api();
    let alias = "arn:aws:lambda:eu-west-1:123456789012:function:orders:live";
    let cognito = r#"{"cognitoIdentityId":"eu-west-1:1","cognitoIdentityPoolId":"eu-west-1:p"}"#;
    lambda.invoke(
        InvokeEvent::new("req-1")
            .payload(r#"{"order":42}"#)
            .deadline_in(Duration::from_secs(5))
            .invoked_function_arn(alias)
            .client_context(r#"{"custom":{"k":"v"}}"#)
            .cognito_identity(cognito),
    );
    lambda.invoke(
        InvokeEvent::new("req-2")
            .without_trace_header()
            .payload("[]"),
    );

    let (id, head, event) = runtime_next(&api);
    assert_eq!((id.as_str(), event.as_str()), ("req-1", r#"{"order":42}"#));
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(
        head.header("lambda-runtime-trace-id"),
        Some(DEFAULT_TRACE_HEADER)
    );
    assert_eq!(
        head.header("lambda-runtime-invoked-function-arn"),
        Some(alias)
    );
    assert_eq!(
        head.header("lambda-runtime-client-context"),
        Some(r#"{"custom":{"k":"v"}}"#)
    );
    assert_eq!(
        head.header("lambda-runtime-cognito-identity"),
        Some(cognito)
    );
    let deadline: u64 = head
        .header("lambda-runtime-deadline-ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(deadline > now_ms() && deadline <= now_ms() + 5_000);
    assert_eq!(runtime_post(&api, "req-1", "response", &[], "done"), 202);
    // Answered once: a second answer, or one to an invocation never delivered, is refused.
    assert_eq!(runtime_post(&api, "req-1", "response", &[], "again"), 400);
    assert_eq!(runtime_post(&api, "req-2", "response", &[], "early"), 400);
    let first = lambda.wait_answer("req-1");
    assert_eq!((first.text(), first.error), ("done".to_string(), None));
    assert_eq!(first.trace_header, DEFAULT_TRACE_HEADER);
    let delivered = first.timings.delivered.unwrap();
    assert!(first.timings.queued <= delivered && delivered <= first.timings.completed);

    // No trace header: none on `next`, no `tracing` in the extensions' INVOKE event.
    let (id, head, event) = runtime_next(&api);
    assert_eq!((id.as_str(), event.as_str()), ("req-2", "[]"));
    assert_eq!(head.header("lambda-runtime-trace-id"), None);
    assert_eq!(head.header("lambda-runtime-client-context"), None);
    assert_eq!(head.header("lambda-runtime-cognito-identity"), None);
    assert_eq!(
        head.header("lambda-runtime-invoked-function-arn"),
        Some(lambda.function_arn().as_str())
    );
    let error = r#"{"errorType":"OrderError","errorMessage":"no stock"}"#;
    let typed = [("Lambda-Runtime-Function-Error-Type", "Runtime.Panic")];
    assert_eq!(runtime_post(&api, "req-2", "error", &typed, error), 202);
    let second = lambda.wait_answer("req-2");
    assert_eq!(second.error.as_ref().unwrap().error_type, "Runtime.Panic");
    assert_eq!(
        (second.text(), second.trace_header),
        (error.to_string(), String::new())
    );
    // Without the header the body's errorType names the error.
    lambda.invoke(InvokeEvent::new("req-3"));
    runtime_next(&api);
    assert_eq!(runtime_post(&api, "req-3", "error", &[], error), 202);
    assert_eq!(
        lambda.wait_answer("req-3").error.unwrap().error_type,
        "OrderError"
    );

    let status = exchange(
        &api,
        "POST",
        "/2018-06-01/runtime/init/error",
        &typed,
        "bad",
    )
    .status;
    assert_eq!(status, 202);
    assert_eq!(
        lambda.runtime_init_errors(),
        [("Runtime.Panic".to_string(), "bad".to_string())]
    );
    let status = exchange(&api, "GET", "/2018-06-01/runtime/elsewhere", &[], "").status;
    assert_eq!(status, 404);

    // The journal has the runtime's side in order, and the extensions' side got the same
    // invocations: an extension registering now is handed req-1 with its trace header, and
    // req-2 without one.
    let kinds: Vec<String> = lambda
        .entries()
        .iter()
        .map(|l| match &l.entry {
            Entry::RuntimeNext => "next".into(),
            Entry::RuntimeDelivered { id } => format!("delivered {id}"),
            Entry::RuntimeAnswered { id, error_type, .. } => {
                format!("answered {id} {error_type:?}")
            }
            Entry::RuntimeInitError { error_type, .. } => format!("init error {error_type}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "next",
            "delivered req-1",
            "answered req-1 None",
            "next",
            "delivered req-2",
            "answered req-2 Some(\"Runtime.Panic\")",
            "next",
            "delivered req-3",
            "answered req-3 Some(\"OrderError\")",
            "init error Runtime.Panic",
        ]
    );
    let (_, extension, _) = register(&api, "probe", &["INVOKE"]);
    let headers = [("Lambda-Extension-Identifier", extension.as_deref().unwrap())];
    let next = "/2020-01-01/extension/event/next";
    let (_, _, invoke) = call(&api, "GET", next, &headers, "");
    assert_eq!(invoke["tracing"]["value"], DEFAULT_TRACE_HEADER);
    assert_eq!(invoke["invokedFunctionArn"], alias);
    let (_, _, invoke) = call(&api, "GET", next, &headers, "");
    assert_eq!(invoke["requestId"], "req-2");
    assert!(invoke.get("tracing").is_none(), "{invoke}");
}

/// Starts a ScriptedLambda keeping `max` invocations in flight, queues three, and has three
/// `next` callers take them; how many were delivered before any was answered.
fn in_flight_at_once(max: usize) -> usize {
    let lambda = ScriptedLambda::start_with(ScriptedOptions {
        max_concurrency: max,
        ..ScriptedOptions::default()
    })
    .unwrap();
    let api = lambda.runtime_api();
    let callers: Vec<_> = (0..3)
        .map(|_| {
            let api = api.clone();
            thread::spawn(move || runtime_next(&api).0)
        })
        .collect();
    for n in 1..=3 {
        lambda.invoke(InvokeEvent::new(format!("req-{n}")));
    }
    lambda.wait_runtime_nexts(3);
    let delivered =
        |lambda: &ScriptedLambda| lambda.count(|e| matches!(e, Entry::RuntimeDelivered { .. }));
    lambda.wait_until("the first deliveries", |entries| {
        entries
            .iter()
            .filter(|l| matches!(l.entry, Entry::RuntimeDelivered { .. }))
            .count()
            >= max.min(3)
    });
    // Give a caller that should not get one the time to get it anyway.
    thread::sleep(Duration::from_millis(200));
    let at_once = delivered(&lambda);
    // Each answer frees a place: every caller gets its invocation in the end, in order.
    let mut answered = Vec::new();
    for n in 1..=3 {
        let id = format!("req-{n}");
        lambda.wait_until(&format!("the delivery of {id}"), |entries| {
            entries
                .iter()
                .any(|l| l.entry == Entry::RuntimeDelivered { id: id.clone() })
        });
        assert_eq!(runtime_post(&api, &id, "response", &[], "{}"), 202);
        answered.push(lambda.wait_answer(&id).request_id);
    }
    let mut taken: Vec<String> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    taken.sort();
    assert_eq!(taken, ["req-1", "req-2", "req-3"]);
    assert_eq!(answered, taken);
    at_once
}

#[test]
fn invocations_overlap_up_to_the_maximum_concurrency() {
    // On demand: one invocation in flight, whoever else waits in `next`.
    assert_eq!(in_flight_at_once(1), 1);
    assert_eq!(in_flight_at_once(0), 1, "0 counts as 1");
    // Lambda Managed Instances: several at once, each to its own caller.
    assert_eq!(in_flight_at_once(2), 2);
    assert_eq!(in_flight_at_once(4), 3);
    let lambda = ScriptedLambda::start_with(ScriptedOptions {
        max_concurrency: 4,
        ..ScriptedOptions::default()
    })
    .unwrap();
    assert!(
        lambda
            .env()
            .contains(&("AWS_LAMBDA_MAX_CONCURRENCY".into(), "4".into()))
    );
    let managed = ScriptedLambda::start_with(ScriptedOptions {
        managed_instances: true,
        ..ScriptedOptions::default()
    })
    .unwrap();
    assert!(
        managed
            .env()
            .contains(&("AWS_LAMBDA_MAX_CONCURRENCY".into(), "1".into()))
    );
}

/// Invocations queued together go to the callers already waiting at once, up to the maximum
/// concurrency, whatever order the callers' threads run in; the rest wait for an answer.
#[test]
fn invocations_queued_together_are_in_flight_together() {
    let lambda = ScriptedLambda::start_with(ScriptedOptions {
        max_concurrency: 3,
        ..ScriptedOptions::default()
    })
    .unwrap();
    let api = lambda.runtime_api();
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let api = api.clone();
            thread::spawn(move || runtime_next(&api).0)
        })
        .collect();
    lambda.wait_runtime_nexts(4);
    assert_eq!(lambda.max_runtime_in_flight(), 0);
    lambda.invoke_all((1..=5).map(|n| InvokeEvent::new(format!("req-{n}"))));
    lambda.wait_until("three deliveries", |entries| {
        entries
            .iter()
            .filter(|l| matches!(l.entry, Entry::RuntimeDelivered { .. }))
            .count()
            == 3
    });
    // Three were in flight together before anything was answered: the maximum.
    assert_eq!(lambda.max_runtime_in_flight(), 3);
    for n in 1..=3 {
        assert_eq!(
            runtime_post(&api, &format!("req-{n}"), "response", &[], "{}"),
            202
        );
    }
    // The fourth caller gets req-4 once places are free; req-5 waits for a fifth caller.
    let mut taken: Vec<String> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    taken.sort();
    assert_eq!(taken, ["req-1", "req-2", "req-3", "req-4"]);
    let (fifth, _, _) = runtime_next(&api);
    assert_eq!(fifth, "req-5");
    assert_eq!(lambda.max_runtime_in_flight(), 3);
}

/// While answers are held, the runtime's response is recorded at once (its result and journal
/// entry) and its HTTP answer waits until they are released.
#[test]
fn a_held_response_is_recorded_at_once_and_answered_when_released() {
    let lambda = ScriptedLambda::start().unwrap();
    let api = lambda.runtime_api();
    lambda.invoke(InvokeEvent::new("req-held"));
    let (id, _, _) = runtime_next(&api);
    assert_eq!(id, "req-held");
    lambda.hold_answers(true);
    let (sent, answered) = mpsc::channel();
    let poster = thread::spawn(move || {
        let _ = sent.send(runtime_post(
            &api,
            "req-held",
            "response",
            &[],
            "{\"ok\":1}",
        ));
    });
    let result = lambda.wait_answer("req-held");
    assert_eq!(result.text(), "{\"ok\":1}");
    lambda.wait_until("the answer's entry", |entries| {
        entries.iter().any(|l| l.entry.is_answer_to("req-held"))
    });
    assert!(answered.try_recv().is_err(), "answered while held");
    lambda.hold_answers(false);
    assert_eq!(answered.recv_timeout(Duration::from_secs(20)).unwrap(), 202);
    poster.join().unwrap();
}
