//! The OTLP/HTTP receiver: scriptable answers, a request log on a shared sequence.

use std::io;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::trace::v1::Span;

use super::decode;
use super::{OtlpRequest, Payload, str_attr};
use crate::lock::lock;
use crate::server::{Endpoint, Handler, Listener, Reply, Script, answer, respond};
use crate::wait::{PATIENCE, Timeout, wait_until};
use crate::{Recorded, Sequence};

/// One received span with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The sequence number of the request that carried it.
    pub seq: u64,
    /// Its resource's attributes.
    pub resource: Vec<KeyValue>,
    /// Its instrumentation scope's name.
    pub scope: String,
    /// The span.
    pub span: Span,
}

#[derive(Default)]
struct State {
    requests: Vec<OtlpRequest>,
    count_only: bool,
    counted_spans: u64,
    last_at: Option<Instant>,
}

/// A real OTLP/HTTP receiver on `/v1/traces`, `/v1/metrics` and `/v1/logs`: bodies in
/// protobuf or OTLP/JSON, plain or gzip, decoded with `opentelemetry-proto`.
///
/// Every request is logged ([`OtlpReceiver::requests`]) with a number from its
/// [`Sequence`] (share one with other fakes to check ordering) and answered with the next
/// scripted [`Reply`]: accept, a status with `Retry-After` and a body, partial success, close
/// the connection, or stall. A body that does not decode is logged as [`Payload::Invalid`]
/// and answered 400 unless the script says otherwise. Readers such as
/// [`OtlpReceiver::spans`] only count requests answered 2xx.
///
/// It runs on its own thread and runtime, so it serves `#[test]`s and any tokio flavour
/// alike; dropping it stops it. Where it listens and its script are the [`Endpoint`]'s it
/// dereferences to.
pub struct OtlpReceiver {
    endpoint: Endpoint,
    state: Arc<Mutex<State>>,
}

/// Options of an [`OtlpReceiver`] before it starts.
#[derive(Default)]
pub struct OtlpReceiverBuilder {
    listener: Option<Listener>,
    sequence: Sequence,
    script: Script,
    answer_after: Option<Duration>,
}

impl OtlpReceiverBuilder {
    /// Serves on this bound listener (default: a fresh `127.0.0.1:0`).
    pub fn listener(mut self, listener: impl Into<Listener>) -> Self {
        self.listener = Some(listener.into());
        self
    }

    /// Numbers requests from `sequence` (default: a sequence of its own).
    pub fn sequence(mut self, sequence: Sequence) -> Self {
        self.sequence = sequence;
        self
    }

    /// The answer once the script is used up (default [`Reply::Accept`]).
    pub fn default_reply(mut self, reply: Reply) -> Self {
        self.script.set_default(reply);
        self
    }

    /// Answers the first requests with `replies`, in order.
    pub fn script(mut self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.script.extend(replies);
        self
    }

    /// Answers every request `delay` after it arrived (an upstream with a round trip of that
    /// much): the request is logged, with its sequence number, when it arrives; other requests
    /// are served meanwhile.
    pub fn answer_after(mut self, delay: Duration) -> Self {
        self.answer_after = Some(delay);
        self
    }

    /// Starts it.
    pub fn start(self) -> io::Result<OtlpReceiver> {
        let listener = match self.listener {
            Some(listener) => listener,
            None => Listener::local()?,
        };
        let state = Arc::new(Mutex::new(State::default()));
        let script = Arc::new(Mutex::new(self.script));
        let handler = handler(
            state.clone(),
            script.clone(),
            self.sequence,
            self.answer_after,
        );
        Ok(OtlpReceiver {
            endpoint: Endpoint::start("otlp-receiver", listener, script, handler)?,
            state,
        })
    }
}

fn handler(
    state: Arc<Mutex<State>>,
    script: Arc<Mutex<Script>>,
    sequence: Sequence,
    answer_after: Option<Duration>,
) -> Handler {
    Arc::new(move |incoming| {
        let seq = sequence.tick();
        let format = decode::format(&incoming.headers);
        let encoding = decode::encoding(&incoming.headers);
        let payload = decode::payload(&incoming.path, format, encoding.as_deref(), &incoming.body);
        let mut reply = lock(&script).next();
        let mut state = lock(&state);
        state.last_at = Some(Instant::now());
        if let Payload::Invalid(error) = &payload
            && matches!(reply, Reply::Accept | Reply::PartialSuccess { .. })
        {
            reply = Reply::status(400).body(error.clone());
        }
        let action = answer(&reply, |partial| {
            let (content_type, body) = decode::success(&payload, format, partial);
            respond(200, &[("content-type", content_type)], body)
        });
        if state.count_only {
            if let Payload::Traces(request) = &payload {
                state.counted_spans += decode::span_count(request);
            }
        } else {
            state.requests.push(OtlpRequest {
                http: Recorded::arrived(seq, incoming, reply.status_code()),
                encoding,
                format,
                payload,
            });
        }
        Box::pin(async move {
            if let Some(delay) = answer_after {
                tokio::time::sleep(delay).await;
            }
            action
        })
    })
}

impl OtlpReceiver {
    /// Options before starting.
    pub fn builder() -> OtlpReceiverBuilder {
        OtlpReceiverBuilder::default()
    }

    /// A receiver on a fresh `127.0.0.1:0` that accepts everything.
    pub fn start() -> io::Result<Self> {
        Self::builder().start()
    }

    /// A receiver whose every answer is `reply`.
    pub fn answering(reply: Reply) -> io::Result<Self> {
        Self::builder().default_reply(reply).start()
    }

    /// From now on keeps nothing but a count of spans and the time of the last request (for
    /// load measurements); see [`OtlpReceiver::counted`].
    pub fn count_only(&self) {
        lock(&self.state).count_only = true;
    }

    /// Spans counted in count-only mode, and when the last request arrived.
    pub fn counted(&self) -> (u64, Option<Instant>) {
        let state = lock(&self.state);
        (state.counted_spans, state.last_at)
    }

    /// Every request so far, in arrival order, whatever it was answered.
    pub fn requests(&self) -> Vec<OtlpRequest> {
        lock(&self.state).requests.clone()
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> usize {
        lock(&self.state).requests.len()
    }

    /// The path of every request, in order.
    pub fn paths(&self) -> Vec<String> {
        lock(&self.state)
            .requests
            .iter()
            .map(|r| r.http.path.clone())
            .collect()
    }

    /// Requests whose body did not decode, with why.
    pub fn invalid(&self) -> Vec<(String, String)> {
        lock(&self.state)
            .requests
            .iter()
            .filter_map(|r| match &r.payload {
                Payload::Invalid(why) => Some((r.http.path.clone(), why.clone())),
                _ => None,
            })
            .collect()
    }

    fn accepted<T>(&self, pick: impl Fn(&OtlpRequest) -> Option<T>) -> Vec<T> {
        lock(&self.state)
            .requests
            .iter()
            .filter(|r| r.accepted())
            .filter_map(pick)
            .collect()
    }

    /// The accepted trace requests.
    pub fn traces(&self) -> Vec<ExportTraceServiceRequest> {
        self.accepted(|r| match &r.payload {
            Payload::Traces(t) => Some(t.clone()),
            _ => None,
        })
    }

    /// The accepted metrics requests.
    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.accepted(|r| match &r.payload {
            Payload::Metrics(m) => Some(m.clone()),
            _ => None,
        })
    }

    /// The accepted logs requests.
    pub fn logs(&self) -> Vec<ExportLogsServiceRequest> {
        self.accepted(|r| match &r.payload {
            Payload::Logs(l) => Some(l.clone()),
            _ => None,
        })
    }

    /// Every accepted log record, in order.
    pub fn log_records(&self) -> Vec<LogRecord> {
        self.logs()
            .into_iter()
            .flat_map(|r| r.resource_logs)
            .flat_map(|r| r.scope_logs)
            .flat_map(|s| s.log_records)
            .collect()
    }

    /// Every accepted span with its request's number, resource and scope, in order.
    pub fn received_spans(&self) -> Vec<ReceivedSpan> {
        self.accepted(|r| match &r.payload {
            Payload::Traces(t) => Some((r.http.seq, t.clone())),
            _ => None,
        })
        .into_iter()
        .flat_map(|(seq, request)| {
            request.resource_spans.into_iter().flat_map(move |rs| {
                let resource = rs.resource.map(|r| r.attributes).unwrap_or_default();
                rs.scope_spans.into_iter().flat_map(move |ss| {
                    let scope = ss.scope.map(|s| s.name).unwrap_or_default();
                    let resource = resource.clone();
                    ss.spans.into_iter().map(move |span| ReceivedSpan {
                        seq,
                        resource: resource.clone(),
                        scope: scope.clone(),
                        span,
                    })
                })
            })
        })
        .collect()
    }

    /// Every accepted span, in order.
    pub fn spans(&self) -> Vec<Span> {
        self.received_spans().into_iter().map(|r| r.span).collect()
    }

    /// The accepted spans named `name`, in order.
    pub fn spans_named(&self, name: &str) -> Vec<Span> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The accepted spans whose string attribute `key` is `value`.
    pub fn spans_with(&self, key: &str, value: &str) -> Vec<Span> {
        self.spans()
            .into_iter()
            .filter(|s| str_attr(&s.attributes, key) == Some(value))
            .collect()
    }

    /// The names of the accepted spans, in order.
    pub fn span_names(&self) -> Vec<String> {
        self.spans().into_iter().map(|s| s.name).collect()
    }

    /// How many spans were accepted.
    pub fn span_count(&self) -> usize {
        self.received_spans().len()
    }

    /// Waits (at most [`PATIENCE`]) for an accepted span named `name` that satisfies `pred`.
    pub fn wait_for_span(
        &self,
        name: &str,
        pred: impl Fn(&Span) -> bool,
    ) -> Result<ReceivedSpan, Timeout> {
        wait_until(&format!("a span {name:?}"), PATIENCE, || {
            self.received_spans()
                .into_iter()
                .find(|r| r.span.name == name && pred(&r.span))
        })
        .map_err(|mut t| {
            t.what = format!("{}; received {:?}", t.what, self.span_names());
            t
        })
    }

    /// Waits (at most `bound`) until `n` spans were accepted; returns them all.
    pub fn wait_for_spans(&self, n: usize, bound: Duration) -> Result<Vec<Span>, Timeout> {
        wait_until(&format!("{n} spans"), bound, || {
            let spans = self.spans();
            (spans.len() >= n).then_some(spans)
        })
        .map_err(|mut t| {
            t.what = format!("{}; received {:?}", t.what, self.span_names());
            t
        })
    }

    /// Waits (at most `bound`) until `n` requests arrived; returns them all.
    pub fn wait_for_requests(
        &self,
        n: usize,
        bound: Duration,
    ) -> Result<Vec<OtlpRequest>, Timeout> {
        wait_until(&format!("{n} requests"), bound, || {
            let requests = self.requests();
            (requests.len() >= n).then_some(requests)
        })
    }

    /// The sum of the int points of the sum metric `name` whose string attribute `key` is
    /// `value` (e.g. `faas_otel.extension.dropped` with `signal` = `traces`).
    pub fn metric_sum(&self, name: &str, key: &str, value: &str) -> i64 {
        self.metrics()
            .into_iter()
            .flat_map(|r| r.resource_metrics)
            .flat_map(|r| r.scope_metrics)
            .flat_map(|s| s.metrics)
            .filter(|m| m.name == name)
            .filter_map(|m| match m.data {
                Some(metric::Data::Sum(sum)) => Some(sum.data_points),
                _ => None,
            })
            .flatten()
            .filter(|p| str_attr(&p.attributes, key) == Some(value))
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(n)) => n,
                _ => 0,
            })
            .sum()
    }
}

impl Deref for OtlpReceiver {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}
