//! The export connection to a plain-HTTP collector, against a collector scripted at the byte
//! level (what it answers, and when it closes the connection), under both tokio runtime
//! flavours: one connection carries every export; a connection the collector closed while idle,
//! closed after its answer (`Connection: close`), left with an unread answer or left stalled is
//! replaced, and no export fails or backs off because of a close it could see coming.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;

/// What the collector does with one request.
#[derive(Debug, Clone)]
enum Answer {
    /// 200 with an empty body, connection kept.
    Ok,
    /// 200 with an empty body, then the connection closed without saying so (a collector's
    /// idle timeout, a restart).
    OkThenHangUp,
    /// 200 with `Connection: close`, then closed.
    OkConnectionClose,
    /// `status` with a body of `len` bytes (Content-Length), connection kept.
    Sized { status: u16, len: usize },
    /// No answer; the connection is held open.
    Stall,
}

/// A collector at the byte level: reads each request (head and Content-Length body), answers
/// the next scripted [`Answer`] (then [`Answer::Ok`] once the script is used up), and counts
/// connections and requests.
struct ScriptedCollector {
    url: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl ScriptedCollector {
    fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (c, r) = (connections.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let (script, requests) = (script.clone(), r.clone());
                std::thread::spawn(move || serve(stream, &script, &requests));
            }
        });
        Self {
            url,
            connections,
            requests,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, script: &Mutex<VecDeque<Answer>>, requests: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        // The request line and headers, up to the empty line.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let answer = script.lock().unwrap().pop_front().unwrap_or(Answer::Ok);
        let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n";
        match answer {
            Answer::Ok => stream.write_all(format!("{ok}\r\n").as_bytes()).unwrap(),
            Answer::OkThenHangUp => {
                stream.write_all(format!("{ok}\r\n").as_bytes()).unwrap();
                return;
            }
            Answer::OkConnectionClose => {
                stream
                    .write_all(format!("{ok}connection: close\r\n\r\n").as_bytes())
                    .unwrap();
                return;
            }
            Answer::Sized { status, len } => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {len}\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).unwrap();
                let _ = stream.write_all(&vec![b'x'; len]);
            }
            Answer::Stall => {
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
        }
    }
}

fn telemetry(endpoint: &str) -> Telemetry {
    telemetry_with(endpoint, "300", "10000")
}

/// With a flush budget of `budget_ms` and an `OTEL_EXPORTER_OTLP_TIMEOUT` of `timeout_ms`.
fn telemetry_with(endpoint: &str, budget_ms: &str, timeout_ms: &str) -> Telemetry {
    Telemetry::builder(LocalEnvironment::named("connection-test"))
        .with_env(Env::from_pairs([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("FAAS_OTEL_FLUSH_TIMEOUT_MS", budget_ms),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", timeout_ms),
            ("FAAS_OTEL_EXPORT_BACKOFF_MS", "0"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ]))
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
        .unwrap()
}

/// One invocation span, flushed; returns the report's (exported, requeued, dropped, error).
async fn export_one(telemetry: &Telemetry) -> (u64, u64, u64, Option<String>) {
    let _ = telemetry.cold_start().take();
    telemetry
        .start_invocation(Invocation::new("fn", Trigger::Other))
        .end(Outcome::Ok);
    let report = telemetry.flush(None).await;
    (
        report.exported_spans,
        report.requeued_spans,
        report.dropped_spans,
        report.error,
    )
}

/// Lets the close of a connection reach the exporting process's runtime, as the time between
/// two invocations does.
async fn between_invocations() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn one_connection_carries_every_export() {
    let collector = ScriptedCollector::start(vec![]);
    let telemetry = telemetry(&collector.url);
    for _ in 0..4 {
        assert_eq!(export_one(&telemetry).await, (1, 0, 0, None));
        between_invocations().await;
    }
    assert_eq!((collector.connections(), collector.requests()), (1, 4));
}

async fn a_connection_closed_while_idle_is_replaced_without_a_failed_export() {
    let collector = ScriptedCollector::start(vec![Answer::OkThenHangUp, Answer::OkThenHangUp]);
    let telemetry = telemetry(&collector.url);
    for _ in 0..3 {
        assert_eq!(export_one(&telemetry).await, (1, 0, 0, None));
        between_invocations().await;
    }
    assert_eq!((collector.connections(), collector.requests()), (3, 3));
}

async fn an_answer_with_connection_close_ends_the_connection() {
    let collector = ScriptedCollector::start(vec![Answer::OkConnectionClose]);
    let telemetry = telemetry(&collector.url);
    assert_eq!(export_one(&telemetry).await, (1, 0, 0, None));
    // No pause: the close came with the answer.
    assert_eq!(export_one(&telemetry).await, (1, 0, 0, None));
    assert_eq!((collector.connections(), collector.requests()), (2, 2));
}

async fn an_answer_not_read_to_its_end_is_not_left_on_the_connection() {
    // 503 is retryable: the span is requeued, and its next export must not read the rest of
    // the 1 MiB body as its answer.
    let collector = ScriptedCollector::start(vec![Answer::Sized {
        status: 503,
        len: 1 << 20,
    }]);
    let telemetry = telemetry(&collector.url);
    let (exported, requeued, dropped, error) = export_one(&telemetry).await;
    assert_eq!((exported, requeued, dropped), (0, 1, 0));
    assert!(error.unwrap().contains("503"));
    assert_eq!(export_one(&telemetry).await, (2, 0, 0, None));
    assert_eq!((collector.connections(), collector.requests()), (2, 2));
}

async fn a_stalled_connection_is_given_up_and_replaced() {
    let collector = ScriptedCollector::start(vec![Answer::Stall]);
    let telemetry = telemetry(&collector.url);
    let (exported, requeued, dropped, _) = export_one(&telemetry).await;
    assert_eq!((exported, requeued, dropped), (0, 1, 0));
    assert_eq!(export_one(&telemetry).await, (2, 0, 0, None));
    assert_eq!((collector.connections(), collector.requests()), (2, 2));
}

async fn an_export_timeout_shorter_than_the_budget_still_cuts_the_request() {
    // The flush's budget (5 s) would end the stall much later: the request's own timeout
    // (100 ms) ends it, so the budget's timer never fires.
    let collector = ScriptedCollector::start(vec![Answer::Stall]);
    let telemetry = telemetry_with(&collector.url, "5000", "100");
    let _ = telemetry.cold_start().take();
    telemetry
        .start_invocation(Invocation::new("fn", Trigger::Other))
        .end(Outcome::Ok);
    let report = telemetry.flush(None).await;
    assert!(!report.timed_out, "the budget ran out first: {report:?}");
    assert_eq!((report.exported_spans, report.requeued_spans), (0, 1));
    assert!(report.error.is_some(), "{report:?}");
    assert_eq!(export_one(&telemetry).await, (2, 0, 0, None));
}

async fn a_small_answer_body_is_read_and_the_connection_kept() {
    let collector = ScriptedCollector::start(vec![Answer::Sized {
        status: 200,
        len: 0,
    }]);
    let telemetry = telemetry(&collector.url);
    assert_eq!(export_one(&telemetry).await, (1, 0, 0, None));
    assert_eq!(export_one(&telemetry).await, (1, 0, 0, None));
    assert_eq!((collector.connections(), collector.requests()), (1, 2));
}

macro_rules! both_flavours {
    ($($name:ident),* $(,)?) => {
        mod current_thread {
            $(#[tokio::test]
            async fn $name() {
                super::$name().await;
            })*
        }
        mod multi_thread {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name().await;
            })*
        }
    };
}

both_flavours!(
    one_connection_carries_every_export,
    a_connection_closed_while_idle_is_replaced_without_a_failed_export,
    an_answer_with_connection_close_ends_the_connection,
    an_answer_not_read_to_its_end_is_not_left_on_the_connection,
    a_stalled_connection_is_given_up_and_replaced,
    a_small_answer_body_is_read_and_the_connection_kept,
    an_export_timeout_shorter_than_the_budget_still_cuts_the_request,
);
