//! The Lambda Telemetry API's platform events, typed.
//!
//! The Telemetry API (subscription schema version [`SCHEMA_VERSION`]) POSTs batches to the
//! subscribed extension: a JSON array of `{"time": RFC 3339, "type": "...", "record": ...}`.
//! [`parse_batch`] turns a batch into [`PlatformEvent`]s without ever failing the whole batch
//! because of one odd event: an unknown `type`, a missing or malformed `time` or a `record`
//! that does not fit its type becomes [`PlatformEvent::Other`], with the reason.
//!
//! ```
//! use faas_aws::extension::platform_events::{parse_batch, PlatformEvent};
//! let body = br#"[
//!   {"time": "2022-10-21T14:05:05.764Z", "type": "platform.runtimeDone",
//!    "record": {"requestId": "6f7f0961", "status": "timeout"}},
//!   {"time": "2022-10-21T14:05:05.765Z", "type": "platform.future", "record": {}}
//! ]"#;
//! let events = parse_batch(body).unwrap();
//! assert_eq!(events[0].runtime_done_request_id(), Some("6f7f0961"));
//! assert!(matches!(events[1], PlatformEvent::Other { .. }));
//! ```
//!
//! Records are lenient where the schema has grown over time: optional fields may be absent,
//! unknown fields are ignored, a `status` missing from `platform.initReport` or
//! `platform.report` (older schema versions) reads as `success`, unknown enum values are kept
//! as text, and a malformed entry of `spans` or `tracing` is dropped rather than failing the
//! record. Whole numbers (`billedDurationMs`, `memorySizeMB`, ...) also accept a JSON float
//! (rounded up).

mod rfc3339;

use std::time::SystemTime;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

pub use rfc3339::parse_rfc3339;

/// The Telemetry API schema version these types follow (the `schemaVersion` of the
/// subscription request).
pub const SCHEMA_VERSION: &str = "2022-12-13";

/// One event of a Telemetry API batch.
#[derive(Debug, Clone, PartialEq)]
pub enum PlatformEvent {
    /// `platform.initStart`: initialization of the execution environment began.
    InitStart {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: InitStart,
    },
    /// `platform.initRuntimeDone`: the runtime finished initializing.
    InitRuntimeDone {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: InitRuntimeDone,
    },
    /// `platform.initReport`: initialization ended, with its duration.
    InitReport {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: InitReport,
    },
    /// `platform.restoreStart`: a SnapStart environment began restoring from its snapshot.
    RestoreStart {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: RestoreStart,
    },
    /// `platform.restoreRuntimeDone`: the runtime's after-restore hooks finished.
    RestoreRuntimeDone {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: RestoreRuntimeDone,
    },
    /// `platform.restoreReport`: restoring ended, with its duration.
    RestoreReport {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: RestoreReport,
    },
    /// `platform.start`: an invocation began.
    Start {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: Start,
    },
    /// `platform.runtimeDone`: the runtime finished an invocation (called `/next` or failed).
    RuntimeDone {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: RuntimeDone,
    },
    /// `platform.report`: an invocation ended, with its billed duration and memory.
    Report {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: Report,
    },
    /// `platform.extension`: an extension registered.
    Extension {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: ExtensionRecord,
    },
    /// `platform.telemetrySubscription`: an extension subscribed to the Telemetry API.
    TelemetrySubscription {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: TelemetrySubscription,
    },
    /// `platform.logsDropped`: Lambda dropped telemetry because a subscriber fell behind.
    LogsDropped {
        /// When the event happened.
        time: SystemTime,
        /// The record.
        record: LogsDropped,
    },
    /// Any other event: an unknown `type` (including `function` and `extension` log lines) or
    /// an event that does not fit the schema.
    Other {
        /// The event's time, when it could be read.
        time: Option<SystemTime>,
        /// The event's `type` (empty when missing).
        event_type: String,
        /// The event's `record` as received (`null` when missing).
        record: Value,
        /// Why the event was not typed.
        reason: OtherReason,
    },
}

/// Why an event became [`PlatformEvent::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherReason {
    /// The `type` is not a platform event this module knows.
    UnknownType,
    /// The event is not a JSON object, or has no string `type`.
    NotAnEvent,
    /// `time` is missing or not an RFC 3339 timestamp.
    BadTime,
    /// The `record` does not fit the schema of its type; the text says why.
    BadRecord(String),
}

/// How an execution environment was initialized (`initializationType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "String")]
pub enum InitializationType {
    /// `on-demand`.
    OnDemand,
    /// `provisioned-concurrency`.
    ProvisionedConcurrency,
    /// `snap-start`.
    SnapStart,
    /// Any other value, as given (e.g. `lambda-managed-instances`).
    Other(String),
}

impl From<String> for InitializationType {
    fn from(value: String) -> Self {
        match value.as_str() {
            "on-demand" => Self::OnDemand,
            "provisioned-concurrency" => Self::ProvisionedConcurrency,
            "snap-start" => Self::SnapStart,
            _ => Self::Other(value),
        }
    }
}

impl InitializationType {
    /// The platform's name for it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::OnDemand => "on-demand",
            Self::ProvisionedConcurrency => "provisioned-concurrency",
            Self::SnapStart => "snap-start",
            Self::Other(value) => value,
        }
    }
}

/// In which phase initialization ran (`phase`): `init`, or `invoke` when Lambda re-ran a
/// failed or timed-out initialization as part of the first invocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "String")]
pub enum InitPhase {
    /// `init`.
    Init,
    /// `invoke`.
    Invoke,
    /// Any other value, as given.
    Other(String),
}

impl From<String> for InitPhase {
    fn from(value: String) -> Self {
        match value.as_str() {
            "init" => Self::Init,
            "invoke" => Self::Invoke,
            _ => Self::Other(value),
        }
    }
}

impl InitPhase {
    /// The platform's name for it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Init => "init",
            Self::Invoke => "invoke",
            Self::Other(value) => value,
        }
    }
}

/// How a phase or an invocation ended (`status`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(from = "String")]
pub enum Status {
    /// `success`.
    #[default]
    Success,
    /// `error`: the function returned an error.
    Error,
    /// `failure`: the runtime or the environment failed (crash, out of memory, ...).
    Failure,
    /// `timeout`: the phase or invocation ran out of time.
    Timeout,
    /// Any other value, as given.
    Other(String),
}

impl From<String> for Status {
    fn from(value: String) -> Self {
        match value.as_str() {
            "success" => Self::Success,
            "error" => Self::Error,
            "failure" => Self::Failure,
            "timeout" => Self::Timeout,
            _ => Self::Other(value),
        }
    }
}

impl Status {
    /// The platform's name for it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Failure => "failure",
            Self::Timeout => "timeout",
            Self::Other(value) => value,
        }
    }

    /// Whether it is [`Status::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }
}

/// A span Lambda reports inside a record (`responseLatency`, `responseDuration`,
/// `runtimeOverhead`, ...).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSpan {
    /// The span's name.
    pub name: String,
    /// When it started.
    #[serde(deserialize_with = "time")]
    pub start: SystemTime,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
}

/// The X-Ray trace context Lambda attaches to invocation records (`tracing`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceContext {
    /// The span id of the invocation's X-Ray segment, when Lambda gives one.
    #[serde(default)]
    pub span_id: Option<String>,
    /// The format of `value`: `X-Amzn-Trace-Id`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The trace header, e.g. `Root=1-...;Parent=...;Sampled=1`.
    pub value: String,
}

/// The record of `platform.initStart`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitStart {
    /// How the environment is initialized.
    pub initialization_type: InitializationType,
    /// The phase initialization runs in.
    pub phase: InitPhase,
    /// Runtime version, e.g. `provided:al2023.v45`.
    #[serde(default)]
    pub runtime_version: Option<String>,
    /// ARN of the runtime version.
    #[serde(default)]
    pub runtime_version_arn: Option<String>,
    /// The function's name.
    #[serde(default)]
    pub function_name: Option<String>,
    /// The function's version.
    #[serde(default)]
    pub function_version: Option<String>,
    /// The execution environment's id.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Memory of the execution environment, in MB.
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub instance_max_memory: Option<u64>,
}

/// The record of `platform.initRuntimeDone`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitRuntimeDone {
    /// How the environment is initialized.
    pub initialization_type: InitializationType,
    /// The phase initialization ran in.
    #[serde(default)]
    pub phase: Option<InitPhase>,
    /// How the runtime's initialization ended.
    pub status: Status,
    /// What went wrong, when it did.
    #[serde(default)]
    pub error_type: Option<String>,
    /// Spans Lambda reports.
    #[serde(default, deserialize_with = "lenient_spans")]
    pub spans: Vec<PlatformSpan>,
}

/// `metrics` of `platform.initReport` and `platform.restoreReport`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseMetrics {
    /// Duration of the phase, in milliseconds.
    pub duration_ms: f64,
}

/// The record of `platform.initReport`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitReport {
    /// How the environment was initialized.
    pub initialization_type: InitializationType,
    /// The phase initialization ran in.
    pub phase: InitPhase,
    /// How initialization ended (`success` when absent).
    #[serde(default)]
    pub status: Status,
    /// What went wrong, when it did.
    #[serde(default)]
    pub error_type: Option<String>,
    /// The duration of initialization.
    pub metrics: PhaseMetrics,
    /// Spans Lambda reports.
    #[serde(default, deserialize_with = "lenient_spans")]
    pub spans: Vec<PlatformSpan>,
}

/// The record of `platform.restoreStart`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStart {
    /// Runtime version.
    #[serde(default)]
    pub runtime_version: Option<String>,
    /// ARN of the runtime version.
    #[serde(default)]
    pub runtime_version_arn: Option<String>,
    /// The function's name.
    #[serde(default)]
    pub function_name: Option<String>,
    /// The function's version.
    #[serde(default)]
    pub function_version: Option<String>,
    /// The execution environment's id.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Memory of the execution environment, in MB.
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub instance_max_memory: Option<u64>,
}

/// The record of `platform.restoreRuntimeDone`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRuntimeDone {
    /// How the runtime hooks ended.
    pub status: Status,
    /// What went wrong, when it did.
    #[serde(default)]
    pub error_type: Option<String>,
    /// Spans Lambda reports.
    #[serde(default, deserialize_with = "lenient_spans")]
    pub spans: Vec<PlatformSpan>,
}

/// The record of `platform.restoreReport`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    /// How restoring ended (`success` when absent).
    #[serde(default)]
    pub status: Status,
    /// What went wrong, when it did.
    #[serde(default)]
    pub error_type: Option<String>,
    /// The duration of restoring, when given.
    #[serde(default)]
    pub metrics: Option<PhaseMetrics>,
    /// Spans Lambda reports.
    #[serde(default, deserialize_with = "lenient_spans")]
    pub spans: Vec<PlatformSpan>,
}

/// The record of `platform.start`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    /// The invocation's request id.
    pub request_id: String,
    /// The function version invoked.
    #[serde(default)]
    pub version: Option<String>,
    /// X-Ray trace context.
    #[serde(default, deserialize_with = "lenient")]
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.runtimeDone`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDoneMetrics {
    /// Time the runtime spent on the invocation, in milliseconds.
    pub duration_ms: f64,
    /// Bytes of the response.
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub produced_bytes: Option<u64>,
}

/// The record of `platform.runtimeDone`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDone {
    /// The invocation's request id.
    pub request_id: String,
    /// How the invocation ended.
    pub status: Status,
    /// What went wrong, when it did.
    #[serde(default)]
    pub error_type: Option<String>,
    /// Duration and response size, when given.
    #[serde(default, deserialize_with = "lenient")]
    pub metrics: Option<RuntimeDoneMetrics>,
    /// Spans Lambda reports.
    #[serde(default, deserialize_with = "lenient_spans")]
    pub spans: Vec<PlatformSpan>,
    /// X-Ray trace context.
    #[serde(default, deserialize_with = "lenient")]
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.report`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportMetrics {
    /// Duration of the invocation, in milliseconds.
    pub duration_ms: f64,
    /// Duration billed, in milliseconds.
    #[serde(deserialize_with = "whole_number")]
    pub billed_duration_ms: u64,
    /// Configured memory, in MB.
    #[serde(rename = "memorySizeMB", deserialize_with = "whole_number")]
    pub memory_size_mb: u64,
    /// Most memory used by the environment during the invocation, in MB.
    #[serde(rename = "maxMemoryUsedMB", deserialize_with = "whole_number")]
    pub max_memory_used_mb: u64,
    /// Duration of initialization, present on the first invocation of an environment.
    #[serde(default)]
    pub init_duration_ms: Option<f64>,
    /// Duration of restoring (SnapStart), present on the first invocation after a restore.
    #[serde(default)]
    pub restore_duration_ms: Option<f64>,
}

/// The record of `platform.report`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The invocation's request id.
    pub request_id: String,
    /// How the invocation ended (`success` when absent).
    #[serde(default)]
    pub status: Status,
    /// What went wrong, when it did.
    #[serde(default)]
    pub error_type: Option<String>,
    /// What the invocation used and was billed.
    pub metrics: ReportMetrics,
    /// Spans Lambda reports.
    #[serde(default, deserialize_with = "lenient_spans")]
    pub spans: Vec<PlatformSpan>,
    /// X-Ray trace context.
    #[serde(default, deserialize_with = "lenient")]
    pub tracing: Option<TraceContext>,
}

/// The record of `platform.extension`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionRecord {
    /// The extension's name.
    pub name: String,
    /// Its state, e.g. `Ready`.
    pub state: String,
    /// The events it registered for (`INVOKE`, `SHUTDOWN`).
    #[serde(default)]
    pub events: Vec<String>,
    /// What went wrong, when it did.
    #[serde(default)]
    pub error_type: Option<String>,
}

/// The record of `platform.telemetrySubscription`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TelemetrySubscription {
    /// The subscribing extension's name.
    pub name: String,
    /// Its state, e.g. `Subscribed`.
    pub state: String,
    /// The telemetry types it subscribed to (`platform`, `function`, `extension`).
    #[serde(default)]
    pub types: Vec<String>,
}

/// The record of `platform.logsDropped`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsDropped {
    /// Why records were dropped.
    pub reason: String,
    /// How many records were dropped.
    #[serde(deserialize_with = "whole_number")]
    pub dropped_records: u64,
    /// How many bytes were dropped.
    #[serde(deserialize_with = "whole_number")]
    pub dropped_bytes: u64,
}

/// Parses a Telemetry API batch (the body of its POST).
///
/// Fails only when `body` is not a JSON array; every element becomes one [`PlatformEvent`],
/// the ones that cannot be typed [`PlatformEvent::Other`].
pub fn parse_batch(body: &[u8]) -> Result<Vec<PlatformEvent>, serde_json::Error> {
    let values: Vec<Value> = serde_json::from_slice(body)?;
    Ok(values.into_iter().map(PlatformEvent::from_json).collect())
}

impl PlatformEvent {
    /// Types one event of a batch; never fails (see [`PlatformEvent::Other`]).
    pub fn from_json(value: Value) -> Self {
        let Value::Object(mut object) = value else {
            return Self::other(None, String::new(), Value::Null, OtherReason::NotAnEvent);
        };
        let record = object.remove("record").unwrap_or(Value::Null);
        let time = object
            .get("time")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339);
        let Some(Value::String(event_type)) = object.remove("type") else {
            return Self::other(time, String::new(), record, OtherReason::NotAnEvent);
        };
        if !KNOWN_TYPES.contains(&event_type.as_str()) {
            return Self::other(time, event_type, record, OtherReason::UnknownType);
        }
        let Some(time) = time else {
            return Self::other(None, event_type, record, OtherReason::BadTime);
        };
        match typed(time, &event_type, &record) {
            Ok(event) => event,
            Err(error) => Self::other(
                Some(time),
                event_type,
                record,
                OtherReason::BadRecord(error.to_string()),
            ),
        }
    }

    fn other(
        time: Option<SystemTime>,
        event_type: String,
        record: Value,
        reason: OtherReason,
    ) -> Self {
        Self::Other {
            time,
            event_type,
            record,
            reason,
        }
    }

    /// The event's time (`None` only for an [`Other`](Self::Other) event without a valid
    /// one).
    pub fn time(&self) -> Option<SystemTime> {
        match self {
            Self::InitStart { time, .. }
            | Self::InitRuntimeDone { time, .. }
            | Self::InitReport { time, .. }
            | Self::RestoreStart { time, .. }
            | Self::RestoreRuntimeDone { time, .. }
            | Self::RestoreReport { time, .. }
            | Self::Start { time, .. }
            | Self::RuntimeDone { time, .. }
            | Self::Report { time, .. }
            | Self::Extension { time, .. }
            | Self::TelemetrySubscription { time, .. }
            | Self::LogsDropped { time, .. } => Some(*time),
            Self::Other { time, .. } => *time,
        }
    }

    /// The event's `type`, e.g. `platform.report`.
    pub fn event_type(&self) -> &str {
        match self {
            Self::InitStart { .. } => "platform.initStart",
            Self::InitRuntimeDone { .. } => "platform.initRuntimeDone",
            Self::InitReport { .. } => "platform.initReport",
            Self::RestoreStart { .. } => "platform.restoreStart",
            Self::RestoreRuntimeDone { .. } => "platform.restoreRuntimeDone",
            Self::RestoreReport { .. } => "platform.restoreReport",
            Self::Start { .. } => "platform.start",
            Self::RuntimeDone { .. } => "platform.runtimeDone",
            Self::Report { .. } => "platform.report",
            Self::Extension { .. } => "platform.extension",
            Self::TelemetrySubscription { .. } => "platform.telemetrySubscription",
            Self::LogsDropped { .. } => "platform.logsDropped",
            Self::Other { event_type, .. } => event_type,
        }
    }

    /// The request id of `platform.start`, `platform.runtimeDone` and `platform.report`.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Start { record, .. } => Some(&record.request_id),
            Self::RuntimeDone { record, .. } => Some(&record.request_id),
            Self::Report { record, .. } => Some(&record.request_id),
            _ => None,
        }
    }

    /// The request id when this is `platform.runtimeDone`: the invocation whose response (or
    /// failure) the runtime has finished, so its spans have been sent.
    pub fn runtime_done_request_id(&self) -> Option<&str> {
        match self {
            Self::RuntimeDone { record, .. } => Some(&record.request_id),
            _ => None,
        }
    }
}

const KNOWN_TYPES: &[&str] = &[
    "platform.initStart",
    "platform.initRuntimeDone",
    "platform.initReport",
    "platform.restoreStart",
    "platform.restoreRuntimeDone",
    "platform.restoreReport",
    "platform.start",
    "platform.runtimeDone",
    "platform.report",
    "platform.extension",
    "platform.telemetrySubscription",
    "platform.logsDropped",
];

fn typed(
    time: SystemTime,
    event_type: &str,
    record: &Value,
) -> Result<PlatformEvent, serde_json::Error> {
    fn from<T: DeserializeOwned>(record: &Value) -> Result<T, serde_json::Error> {
        T::deserialize(record)
    }
    Ok(match event_type {
        "platform.initStart" => PlatformEvent::InitStart {
            time,
            record: from(record)?,
        },
        "platform.initRuntimeDone" => PlatformEvent::InitRuntimeDone {
            time,
            record: from(record)?,
        },
        "platform.initReport" => PlatformEvent::InitReport {
            time,
            record: from(record)?,
        },
        "platform.restoreStart" => PlatformEvent::RestoreStart {
            time,
            record: from(record)?,
        },
        "platform.restoreRuntimeDone" => PlatformEvent::RestoreRuntimeDone {
            time,
            record: from(record)?,
        },
        "platform.restoreReport" => PlatformEvent::RestoreReport {
            time,
            record: from(record)?,
        },
        "platform.start" => PlatformEvent::Start {
            time,
            record: from(record)?,
        },
        "platform.runtimeDone" => PlatformEvent::RuntimeDone {
            time,
            record: from(record)?,
        },
        "platform.report" => PlatformEvent::Report {
            time,
            record: from(record)?,
        },
        "platform.extension" => PlatformEvent::Extension {
            time,
            record: from(record)?,
        },
        "platform.telemetrySubscription" => PlatformEvent::TelemetrySubscription {
            time,
            record: from(record)?,
        },
        "platform.logsDropped" => PlatformEvent::LogsDropped {
            time,
            record: from(record)?,
        },
        other => {
            return Err(serde::de::Error::custom(format!(
                "unknown event type {other}"
            )));
        }
    })
}

/// An RFC 3339 timestamp.
fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_rfc3339(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 timestamp")))
}

/// A value that is dropped (read as `None`) when it does not fit `T`.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

/// A list of spans, each one that does not fit dropped.
fn lenient_spans<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<PlatformSpan>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| PlatformSpan::deserialize(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// A non-negative whole number; a non-negative finite float is rounded up.
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    as_whole_number(&value).ok_or_else(|| {
        serde::de::Error::custom(format!("expected a non-negative number, found {value}"))
    })
}

fn optional_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(as_whole_number(&value))
}

fn as_whole_number(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    // Saturating float-to-int conversion; finite and non-negative checked first.
    (f.is_finite() && f >= 0.0).then(|| f.ceil() as u64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn one(json: &str) -> PlatformEvent {
        let mut events = parse_batch(format!("[{json}]").as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn not_an_array_is_the_only_error() {
        assert!(parse_batch(b"{}").is_err());
        assert!(parse_batch(b"not json").is_err());
        assert!(
            parse_batch(b"[1, \"x\", null]")
                .unwrap()
                .iter()
                .all(|e| matches!(
                    e,
                    PlatformEvent::Other {
                        reason: OtherReason::NotAnEvent,
                        ..
                    }
                ))
        );
        assert_eq!(parse_batch(b"[]").unwrap(), vec![]);
    }

    #[test]
    fn init_start_with_every_field() {
        let event = one(
            r#"{"time":"2022-10-12T00:00:15.064Z","type":"platform.initStart","record":{
                "initializationType":"on-demand","phase":"init","runtimeVersion":"provided:al2023.v45",
                "runtimeVersionArn":"arn:aws:lambda:us-east-1::runtime:abc","functionName":"orders",
                "functionVersion":"$LATEST","instanceId":"i-1","instanceMaxMemory":128,"extra":1}}"#,
        );
        assert_eq!(
            event,
            PlatformEvent::InitStart {
                time: at(1_665_532_815_064),
                record: InitStart {
                    initialization_type: InitializationType::OnDemand,
                    phase: InitPhase::Init,
                    runtime_version: Some("provided:al2023.v45".into()),
                    runtime_version_arn: Some("arn:aws:lambda:us-east-1::runtime:abc".into()),
                    function_name: Some("orders".into()),
                    function_version: Some("$LATEST".into()),
                    instance_id: Some("i-1".into()),
                    instance_max_memory: Some(128),
                },
            }
        );
        assert_eq!(event.event_type(), "platform.initStart");
        assert_eq!(event.request_id(), None);
    }

    #[test]
    fn report_metrics_and_lenient_parts() {
        let event = one(
            r#"{"time":"2022-10-21T14:05:05.766Z","type":"platform.report","record":{
                "requestId":"r1","metrics":{"durationMs":2599.4,"billedDurationMs":2600,
                "memorySizeMB":128,"maxMemoryUsedMB":94.0,"initDurationMs":549.04},
                "spans":[{"name":"bad"},{"name":"ok","start":"2022-10-21T14:05:03.165Z","durationMs":1.5}],
                "tracing":{"type":1}}}"#,
        );
        let PlatformEvent::Report { record, .. } = &event else {
            panic!("{event:?}")
        };
        assert_eq!(
            record.status,
            Status::Success,
            "absent status reads as success"
        );
        assert_eq!(record.metrics.billed_duration_ms, 2600);
        assert_eq!(record.metrics.max_memory_used_mb, 94);
        assert_eq!(record.metrics.init_duration_ms, Some(549.04));
        assert_eq!(record.metrics.restore_duration_ms, None);
        assert_eq!(record.spans.len(), 1);
        assert_eq!(record.spans[0].start, at(1_666_361_103_165));
        assert_eq!(record.tracing, None);
        assert_eq!(event.request_id(), Some("r1"));
        assert_eq!(event.runtime_done_request_id(), None);
    }

    #[test]
    fn runtime_done_request_id_only_for_runtime_done() {
        let done = one(
            r#"{"time":"2022-10-21T14:05:05.764Z","type":"platform.runtimeDone","record":{
                "requestId":"r2","status":"failure","errorType":"Runtime.ExitError",
                "metrics":{"durationMs":12.5,"producedBytes":0},
                "tracing":{"spanId":"24cd7d670fa455f0","type":"X-Amzn-Trace-Id","value":"Root=1-a;Sampled=1"}}}"#,
        );
        assert_eq!(done.runtime_done_request_id(), Some("r2"));
        let PlatformEvent::RuntimeDone { record, .. } = &done else {
            panic!("{done:?}")
        };
        assert_eq!(record.status, Status::Failure);
        assert_eq!(record.error_type.as_deref(), Some("Runtime.ExitError"));
        assert_eq!(
            record.tracing.as_ref().map(|t| t.kind.as_str()),
            Some("X-Amzn-Trace-Id")
        );
        let start = one(
            r#"{"time":"2022-10-21T14:05:03.165Z","type":"platform.start","record":{"requestId":"r2"}}"#,
        );
        assert_eq!(start.runtime_done_request_id(), None);
        assert_eq!(start.request_id(), Some("r2"));
    }

    #[test]
    fn odd_events_become_other_with_the_reason() {
        let cases = [
            (
                r#"{"time":"2022-10-21T14:05:03Z","type":"platform.future","record":{"a":1}}"#,
                OtherReason::UnknownType,
            ),
            (
                r#"{"time":"2022-10-21T14:05:03Z","type":"function","record":"hello"}"#,
                OtherReason::UnknownType,
            ),
            (
                r#"{"time":"yesterday","type":"platform.start","record":{"requestId":"r"}}"#,
                OtherReason::BadTime,
            ),
            (
                r#"{"type":"platform.start","record":{"requestId":"r"}}"#,
                OtherReason::BadTime,
            ),
            (
                r#"{"time":"2022-10-21T14:05:03Z","record":{}}"#,
                OtherReason::NotAnEvent,
            ),
        ];
        for (json, expected) in cases {
            match one(json) {
                PlatformEvent::Other { reason, .. } => assert_eq!(reason, expected, "{json}"),
                other => panic!("{json} -> {other:?}"),
            }
        }
        let PlatformEvent::Other {
            time,
            event_type,
            record,
            reason: OtherReason::BadRecord(why),
        } = one(
            r#"{"time":"2022-10-21T14:05:03Z","type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":"fast"}}}"#,
        )
        else {
            panic!("expected a bad record")
        };
        assert_eq!(time, Some(at(1_666_361_103_000)));
        assert_eq!(event_type, "platform.report");
        assert_eq!(record["requestId"], "r");
        assert!(
            why.contains("durationMs") || why.contains("invalid type"),
            "{why}"
        );
    }

    #[test]
    fn unknown_enum_values_are_kept_as_text() {
        let event = one(
            r#"{"time":"2022-10-21T14:05:03Z","type":"platform.initReport","record":{
                "initializationType":"lambda-managed-instances","phase":"warmup","status":"cancelled",
                "metrics":{"durationMs":10}}}"#,
        );
        let PlatformEvent::InitReport { record, .. } = event else {
            panic!()
        };
        assert_eq!(
            record.initialization_type.as_str(),
            "lambda-managed-instances"
        );
        assert_eq!(record.phase.as_str(), "warmup");
        assert_eq!(record.status, Status::Other("cancelled".into()));
        assert_eq!(record.metrics.duration_ms, 10.0);
    }

    #[test]
    fn every_known_type_parses() {
        let batch = br#"[
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.initRuntimeDone","record":{"initializationType":"on-demand","status":"success"}},
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.restoreStart","record":{"functionName":"f"}},
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.restoreRuntimeDone","record":{"status":"success"}},
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.restoreReport","record":{"status":"success","metrics":{"durationMs":120.5}}},
          {"time":"2022-10-19T13:52:16.136Z","type":"platform.extension","record":{"name":"my-extension","state":"Ready","events":["SHUTDOWN","INVOKE"]}},
          {"time":"2022-10-19T13:52:15.667Z","type":"platform.telemetrySubscription","record":{"name":"my-extension","state":"Subscribed","types":["platform","function"]}},
          {"time":"2022-10-19T13:52:15.667Z","type":"platform.logsDropped","record":{"reason":"Consumer seems to have fallen behind","droppedRecords":123,"droppedBytes":12345}}
        ]"#;
        let types: Vec<String> = parse_batch(batch)
            .unwrap()
            .iter()
            .map(|e| {
                assert!(!matches!(e, PlatformEvent::Other { .. }), "{e:?}");
                e.event_type().to_owned()
            })
            .collect();
        assert_eq!(
            types,
            [
                "platform.initRuntimeDone",
                "platform.restoreStart",
                "platform.restoreRuntimeDone",
                "platform.restoreReport",
                "platform.extension",
                "platform.telemetrySubscription",
                "platform.logsDropped"
            ]
        );
    }
}
