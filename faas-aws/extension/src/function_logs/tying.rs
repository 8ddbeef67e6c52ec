//! [`FunctionLogs`]: the Telemetry API's log lines, in stream order, tied to their invocation
//! and its trace, held until that trace is known.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_semantic_conventions::attribute as attr;
use prost::Message;

use crate::bounded_map::BoundedMap;
use crate::platform_events::{InvocationContext, PlatformEvent, Record, SCOPE_NAME};

use super::log_line::{LogLine, Stream, key_value, log_line, string};

/// How many request ids of finished invocations are remembered.
const REMEMBERED_REPORTS: usize = 1024;
/// How many batch digests are remembered (a batch the platform delivers again is recognized).
const REMEMBERED_BATCHES: usize = 64;
/// Most invocations in flight tracked at once (Lambda Managed Instances run several).
const MAX_ACTIVE: usize = 256;

/// What the trace of an invocation is, as far as known (the function's spans seen so far).
pub(crate) type ContextOf<'a> = &'a dyn Fn(&str) -> Option<InvocationContext>;

/// A line waiting for its invocation's trace.
#[derive(Debug)]
struct Held {
    request_id: String,
    record: LogRecord,
    bytes: usize,
}

/// The log lines of the Telemetry API's `function` (and `extension`) streams, as OTLP log
/// records tied to their invocation.
///
/// **Which invocation.** The request id written in the line (a JSON record's `requestId`, the
/// id field of a runtime's text line), else the one invocation in progress (between its
/// `platform.start` and `platform.runtimeDone`, in stream order), else none: with several in
/// progress (Lambda Managed Instances) a line that names none is tied to none.
///
/// **Which trace.** A line that names its own trace id and span id (faas-aws's log lines do:
/// the span active when it was written) keeps them. Else a line of an invocation whose span the
/// function sent carries that span's trace id and span id. The function sends its spans when the invocation ends, after most of
/// its lines, so a line is held until its invocation's span is known; it is released without
/// trace context when the invocation's `platform.report` arrives without one (the function sent
/// none), when more than `max_held_bytes` are held (oldest first), and at shutdown
/// ([`finish`](Self::finish)). Every line is released exactly once; a batch the platform
/// delivers again (the same bytes) gives no line a second time.
#[derive(Debug)]
pub(crate) struct FunctionLogs {
    /// Whether `function` and `extension` lines are wanted (`FAAS_OTEL_EXTENSION_LOGS`).
    streams: (bool, bool),
    max_held_bytes: usize,
    active: Vec<String>,
    reported: BoundedMap<String, ()>,
    held: VecDeque<Held>,
    held_bytes: usize,
    ready: Vec<LogRecord>,
    batches: VecDeque<u64>,
    dropped_by_platform: u64,
}

impl FunctionLogs {
    /// Lines of the streams wanted (`(function, extension)`), holding at most `max_held_bytes`
    /// (encoded) while waiting for traces.
    pub(crate) fn new(streams: (bool, bool), max_held_bytes: usize) -> Self {
        Self {
            streams,
            max_held_bytes,
            active: Vec::new(),
            reported: BoundedMap::new(REMEMBERED_REPORTS),
            held: VecDeque::new(),
            held_bytes: 0,
            ready: Vec::new(),
            batches: VecDeque::new(),
            dropped_by_platform: 0,
        }
    }

    /// Takes one Telemetry API batch (`body`, parsed as `events`), in order: tracks the
    /// invocations in progress, turns log lines into records, counts `platform.logsDropped`.
    pub(crate) fn on_batch(
        &mut self,
        body: &[u8],
        events: &[PlatformEvent],
        context_of: ContextOf<'_>,
    ) {
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let digest = hasher.finish();
        let again = self.batches.contains(&digest);
        if !again {
            if self.batches.len() == REMEMBERED_BATCHES {
                self.batches.pop_front();
            }
            self.batches.push_back(digest);
        }
        for event in events {
            match event {
                PlatformEvent::Known { record, .. } => self.on_platform(record, again, context_of),
                PlatformEvent::Other {
                    time,
                    event_type,
                    record,
                    ..
                } if !again => {
                    let Some(stream) = Stream::of(event_type) else {
                        continue;
                    };
                    let wanted = match stream {
                        Stream::Function => self.streams.0,
                        Stream::Extension => self.streams.1,
                    };
                    if wanted {
                        let line = log_line(stream, *time, record);
                        self.on_line(stream, line, context_of);
                    }
                }
                PlatformEvent::Other { .. } => {}
            }
        }
        self.release_known(context_of);
    }

    fn on_platform(&mut self, record: &Record, again: bool, context_of: ContextOf<'_>) {
        match record {
            Record::Start(start) if !self.active.contains(&start.request_id) => {
                if self.active.len() == MAX_ACTIVE {
                    self.active.remove(0);
                }
                self.active.push(start.request_id.clone());
            }
            Record::RuntimeDone(done) => self.active.retain(|id| *id != done.request_id),
            Record::Report(report) => {
                self.active.retain(|id| *id != report.request_id);
                self.reported.insert(report.request_id.clone(), ());
                self.release_invocation(&report.request_id, context_of);
            }
            Record::LogsDropped(dropped) if !again => {
                self.dropped_by_platform = self
                    .dropped_by_platform
                    .saturating_add(dropped.dropped_records);
            }
            _ => {}
        }
    }

    fn on_line(&mut self, stream: Stream, line: LogLine, context_of: ContextOf<'_>) {
        let LogLine { request_id, record } = line;
        // Only function lines belong to an invocation: extensions' lines are their own.
        let request_id = match stream {
            Stream::Function => request_id.or_else(|| match self.active.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            }),
            Stream::Extension => None,
        };
        let Some(request_id) = request_id else {
            self.ready.push(record);
            return;
        };
        if !record.trace_id.is_empty() {
            // The line names its own span (faas-aws writes the active one): no need to wait.
            self.ready.push(tied(record, &request_id, None));
        } else if let Some(context) = context_of(&request_id) {
            self.ready.push(tied(record, &request_id, Some(&context)));
        } else if self.reported.get(&request_id).is_some() {
            self.ready.push(tied(record, &request_id, None));
        } else {
            let bytes = record.encoded_len();
            self.held_bytes = self.held_bytes.saturating_add(bytes);
            self.held.push_back(Held {
                request_id,
                record,
                bytes,
            });
            while self.held_bytes > self.max_held_bytes {
                let Some(oldest) = self.held.pop_front() else {
                    break;
                };
                self.held_bytes = self.held_bytes.saturating_sub(oldest.bytes);
                self.ready
                    .push(tied(oldest.record, &oldest.request_id, None));
            }
        }
    }

    /// Releases, tied to their trace, the held lines whose invocation's span is now known (one
    /// pass over what is held, one lookup per invocation).
    pub(crate) fn release_known(&mut self, context_of: ContextOf<'_>) {
        if self.held.is_empty() {
            return;
        }
        let mut contexts: HashMap<String, Option<InvocationContext>> = HashMap::new();
        let mut kept = VecDeque::with_capacity(self.held.len());
        for held in std::mem::take(&mut self.held) {
            let context = *contexts
                .entry(held.request_id.clone())
                .or_insert_with(|| context_of(&held.request_id));
            match context {
                Some(context) => {
                    self.held_bytes = self.held_bytes.saturating_sub(held.bytes);
                    self.ready
                        .push(tied(held.record, &held.request_id, Some(&context)));
                }
                None => kept.push_back(held),
            }
        }
        self.held = kept;
    }

    /// Releases every held line of `request_id`, with its trace when known.
    fn release_invocation(&mut self, request_id: &str, context_of: ContextOf<'_>) {
        if !self.held.iter().any(|h| h.request_id == request_id) {
            return;
        }
        let context = context_of(request_id);
        let (mine, others): (VecDeque<Held>, VecDeque<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|h| h.request_id == request_id);
        self.held = others;
        for held in mine {
            self.held_bytes = self.held_bytes.saturating_sub(held.bytes);
            self.ready
                .push(tied(held.record, request_id, context.as_ref()));
        }
    }

    /// Releases everything still held, tied to its trace when known (at shutdown).
    pub(crate) fn finish(&mut self, context_of: ContextOf<'_>) {
        for held in std::mem::take(&mut self.held) {
            let context = context_of(&held.request_id);
            self.ready
                .push(tied(held.record, &held.request_id, context.as_ref()));
        }
        self.held_bytes = 0;
    }

    /// The released records as one request under `resource`; `None` when there are none.
    pub(crate) fn take_ready(&mut self, resource: &Resource) -> Option<ExportLogsServiceRequest> {
        if self.ready.is_empty() {
            return None;
        }
        Some(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(resource.clone()),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: SCOPE_NAME.to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        attributes: Vec::new(),
                        dropped_attributes_count: 0,
                    }),
                    log_records: std::mem::take(&mut self.ready),
                    schema_url: opentelemetry_semantic_conventions::SCHEMA_URL.to_owned(),
                }],
                schema_url: String::new(),
            }],
        })
    }

    /// The records `platform.logsDropped` reported since the last call.
    pub(crate) fn take_dropped_by_platform(&mut self) -> u64 {
        std::mem::take(&mut self.dropped_by_platform)
    }

    /// Bytes held waiting for traces.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }
}

/// `record` with `faas.invocation_id` first among its attributes and, when given and the line
/// named no span of its own, the trace id and span id of the invocation's span (flags: sampled,
/// since the span was recorded).
fn tied(mut record: LogRecord, request_id: &str, context: Option<&InvocationContext>) -> LogRecord {
    record.attributes.insert(
        0,
        key_value(
            attr::FAAS_INVOCATION_ID.to_owned(),
            string(request_id.to_owned()),
        ),
    );
    if let Some(context) = context.filter(|_| record.trace_id.is_empty()) {
        record.trace_id = context.trace_id.to_vec();
        record.span_id = context.span_id.to_vec();
        // W3C trace flags in the low byte: sampled.
        record.flags = 0x01;
    }
    record
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::platform_events::parse_batch;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

    const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
    const B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

    fn context(n: u8) -> InvocationContext {
        InvocationContext {
            trace_id: [n; 16],
            span_id: [n + 100; 8],
            parent_span_id: None,
            coldstart: None,
        }
    }

    /// The function's spans seen so far, by request id.
    #[derive(Default)]
    struct Traces(HashMap<String, InvocationContext>);

    impl Traces {
        fn of(&self) -> impl Fn(&str) -> Option<InvocationContext> + '_ {
            |id| self.0.get(id).copied()
        }
    }

    fn streams(function: bool, extension: bool) -> (bool, bool) {
        (function, extension)
    }

    fn batch(events: &[String]) -> Vec<u8> {
        format!("[{}]", events.join(",")).into_bytes()
    }

    fn event(event_type: &str, record: &str) -> String {
        format!(r#"{{"time":"2024-05-01T10:00:00.125Z","type":"{event_type}","record":{record}}}"#)
    }

    fn start(id: &str) -> String {
        event("platform.start", &format!(r#"{{"requestId":"{id}"}}"#))
    }

    fn done(id: &str) -> String {
        event(
            "platform.runtimeDone",
            &format!(r#"{{"requestId":"{id}","status":"success"}}"#),
        )
    }

    fn report(id: &str) -> String {
        event(
            "platform.report",
            &format!(r#"{{"requestId":"{id}","metrics":{{"durationMs":1.0}}}}"#),
        )
    }

    fn text(line: &str) -> String {
        event("function", &serde_json::to_string(line).unwrap())
    }

    fn feed(logs: &mut FunctionLogs, traces: &Traces, events: &[String]) {
        let body = batch(events);
        let parsed = parse_batch(&body).unwrap();
        logs.on_batch(&body, &parsed, &traces.of());
    }

    /// (body, invocation id, trace id) of every released record, in order.
    fn released(logs: &mut FunctionLogs) -> Vec<(String, Option<String>, Vec<u8>)> {
        let Some(request) = logs.take_ready(&Resource::default()) else {
            return Vec::new();
        };
        let scope = &request.resource_logs[0].scope_logs[0];
        assert_eq!(scope.scope.as_ref().unwrap().name, SCOPE_NAME);
        scope
            .log_records
            .iter()
            .map(|r| {
                let body = match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => s.clone(),
                    other => format!("{other:?}"),
                };
                let id = r
                    .attributes
                    .iter()
                    .find(|kv| kv.key == attr::FAAS_INVOCATION_ID)
                    .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        any_value::Value::StringValue(s) => Some(s.clone()),
                        _ => None,
                    });
                (body, id, r.trace_id.clone())
            })
            .collect()
    }

    fn line(body: &str, id: Option<&str>, trace: Option<u8>) -> (String, Option<String>, Vec<u8>) {
        (
            body.to_owned(),
            id.map(str::to_owned),
            trace.map(|n| vec![n; 16]).unwrap_or_default(),
        )
    }

    #[test]
    fn lines_wait_for_their_invocations_span_and_carry_its_ids() {
        let mut logs = FunctionLogs::new(streams(true, false), 1 << 20);
        let mut traces = Traces::default();
        feed(
            &mut logs,
            &traces,
            &[start(A), text("INFO one"), text("two")],
        );
        assert!(
            released(&mut logs).is_empty(),
            "held until the span is known"
        );
        assert!(logs.held_bytes() > 0);
        // The function's span arrives: the next release ties them.
        traces.0.insert(A.to_owned(), context(1));
        logs.release_known(&traces.of());
        assert_eq!(
            released(&mut logs),
            [line("one", Some(A), Some(1)), line("two", Some(A), Some(1))]
        );
        assert_eq!(logs.held_bytes(), 0);
        // Later lines of a known invocation are tied at once, with every field.
        feed(&mut logs, &traces, &[text("three")]);
        let request = logs.take_ready(&Resource::default()).unwrap();
        let record = &request.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.trace_id, vec![1; 16]);
        assert_eq!(record.span_id, vec![101; 8]);
        assert_eq!(record.flags, 1);
        assert_eq!(
            record.attributes[..2],
            [
                KeyValue {
                    key: "faas.invocation_id".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(A.into()))
                    }),
                    ..KeyValue::default()
                },
                KeyValue {
                    key: "faas_otel.log.source".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("function".into()))
                    }),
                    ..KeyValue::default()
                },
            ]
        );
        // After runtimeDone, no invocation is in progress: a line belongs to none.
        feed(&mut logs, &traces, &[done(A), text("between")]);
        assert_eq!(released(&mut logs), [line("between", None, None)]);
    }

    #[test]
    fn a_line_with_its_own_trace_context_keeps_it_and_is_not_held() {
        let mut logs = FunctionLogs::new(streams(true, false), 1 << 20);
        let mut traces = Traces::default();
        traces.0.insert(A.to_owned(), context(1));
        let own = "traceId=0af7651916cd43dd8448eb211c80319c spanId=b7ad6b7169203331";
        feed(
            &mut logs,
            &Traces::default(),
            &[start(A), text(&format!("INFO child span {own}"))],
        );
        assert_eq!(
            released(&mut logs),
            [(
                "child span".to_owned(),
                Some(A.to_owned()),
                0x0af7651916cd43dd8448eb211c80319c_u128
                    .to_be_bytes()
                    .to_vec()
            )]
        );
        // With the invocation's span known, the line's own span still wins.
        feed(&mut logs, &traces, &[text(&format!("INFO again {own}"))]);
        let request = logs.take_ready(&Resource::default()).unwrap();
        let record = &request.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(record.span_id, 0xb7ad6b7169203331_u64.to_be_bytes());
    }

    #[test]
    fn a_report_without_a_span_releases_the_lines_without_trace() {
        let mut logs = FunctionLogs::new(streams(true, false), 1 << 20);
        let traces = Traces::default();
        feed(&mut logs, &traces, &[start(A), text("one"), done(A)]);
        assert!(released(&mut logs).is_empty());
        feed(&mut logs, &traces, &[report(A)]);
        assert_eq!(released(&mut logs), [line("one", Some(A), None)]);
        // A late line naming a reported invocation is not held.
        let late = format!("2024-05-01T10:00:00.123Z\t{A}\tINFO\tlate");
        feed(&mut logs, &traces, &[text(&late)]);
        assert_eq!(released(&mut logs), [line("late", Some(A), None)]);
    }

    #[test]
    fn with_several_invocations_in_progress_only_named_lines_are_tied() {
        let mut logs = FunctionLogs::new(streams(true, false), 1 << 20);
        let mut traces = Traces::default();
        traces.0.insert(A.to_owned(), context(1));
        traces.0.insert(B.to_owned(), context(2));
        let json_b = event(
            "function",
            &format!(r#"{{"level":"ERROR","requestId":"{B}","message":"from b"}}"#),
        );
        feed(
            &mut logs,
            &traces,
            &[start(A), start(B), text("whose?"), json_b],
        );
        assert_eq!(
            released(&mut logs),
            [line("whose?", None, None), line("from b", Some(B), Some(2))]
        );
    }

    #[test]
    fn a_batch_delivered_again_gives_no_line_twice_and_drops_count_once() {
        let mut logs = FunctionLogs::new(streams(true, false), 1 << 20);
        let traces = Traces::default();
        let dropped = event(
            "platform.logsDropped",
            r#"{"reason":"Consumer seems to have fallen behind","droppedRecords":7,"droppedBytes":700}"#,
        );
        let events = [text("once"), dropped];
        feed(&mut logs, &traces, &events);
        feed(&mut logs, &traces, &events);
        assert_eq!(released(&mut logs), [line("once", None, None)]);
        assert_eq!(logs.take_dropped_by_platform(), 7);
        assert_eq!(logs.take_dropped_by_platform(), 0);
    }

    #[test]
    fn streams_that_are_off_give_nothing_and_extension_lines_belong_to_no_invocation() {
        let traces = Traces::default();
        let events = [start(A), text("f"), event("extension", r#""e""#)];
        let mut off = FunctionLogs::new(streams(false, false), 1 << 20);
        feed(&mut off, &traces, &events);
        off.finish(&traces.of());
        assert!(released(&mut off).is_empty());
        let mut extension_only = FunctionLogs::new(streams(false, true), 1 << 20);
        feed(&mut extension_only, &traces, &events);
        assert_eq!(released(&mut extension_only), [line("e", None, None)]);
    }

    #[test]
    fn the_held_bytes_are_bounded_and_finish_releases_everything_once() {
        let one = {
            let mut probe = FunctionLogs::new(streams(true, false), usize::MAX);
            feed(&mut probe, &Traces::default(), &[start(A), text("line 0")]);
            probe.held_bytes()
        };
        let mut logs = FunctionLogs::new(streams(true, false), one * 2);
        let traces = Traces::default();
        let mut events = vec![start(A)];
        events.extend((0..5).map(|i| text(&format!("line {i}"))));
        feed(&mut logs, &traces, &events);
        // Over two lines' worth, the oldest go out untied.
        assert_eq!(
            released(&mut logs),
            [
                line("line 0", Some(A), None),
                line("line 1", Some(A), None),
                line("line 2", Some(A), None)
            ]
        );
        assert_eq!(logs.held_bytes(), one * 2);
        logs.finish(&traces.of());
        assert_eq!(
            released(&mut logs),
            [line("line 3", Some(A), None), line("line 4", Some(A), None)]
        );
        logs.finish(&traces.of());
        assert!(released(&mut logs).is_empty());
        assert_eq!(logs.held_bytes(), 0);
    }
}
