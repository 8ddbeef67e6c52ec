//! The platform-events source: the Lambda Telemetry API's events, typed ([`parse_batch`],
//! [`PlatformEvent`], [`Record`]) and turned into spans and metrics ([`PlatformTelemetry`]).
//!
//! The Telemetry API (subscription schema version [`SCHEMA_VERSION`], or
//! [`MANAGED_INSTANCES_SCHEMA_VERSION`] on Lambda Managed Instances) POSTs batches to the
//! subscribed extension: a JSON array of `{"time": RFC 3339, "type": "...", "record": ...}`.
//! Records are lenient where the schema has grown over time: optional fields may be absent,
//! unknown fields are ignored, a `status` missing from `platform.initReport` or
//! `platform.report` (older schema versions) reads as `success`, unknown enum values are kept
//! as text, and a malformed entry of `spans` or `tracing` is dropped rather than failing the
//! record. Whole numbers (`billedDurationMs`, `memorySizeMB`, ...) also accept a JSON float
//! (rounded up).

mod environment_records;
mod event;
mod init_records;
mod invocation_context;
mod invoke_records;
mod lenient;
mod metrics;
mod outcome;
mod record;
mod record_parts;
mod rfc3339;
mod spans;
mod telemetry;
mod values;

/// The Telemetry API schema version the extension subscribes with in Lambda's default
/// execution environments (the `schemaVersion` of the subscription request).
pub const SCHEMA_VERSION: &str = "2022-12-13";

/// The schema version of Lambda Managed Instances, the only one they accept. The records are
/// the same types as in [`SCHEMA_VERSION`]: `initializationType` is
/// `lambda-managed-instances`, and `platform.report` carries only `durationMs` in its
/// `metrics` (no billed duration, no memory: see [`ReportMetrics`]). Both parse with
/// [`parse_batch`].
pub const MANAGED_INSTANCES_SCHEMA_VERSION: &str = "2025-01-29";

pub use environment_records::{ExtensionRecord, LogsDropped, TelemetrySubscription};
pub use event::{OtherReason, PlatformEvent, parse_batch};
pub use init_records::{
    InitReport, InitRuntimeDone, InitStart, RestoreReport, RestoreRuntimeDone, RestoreStart,
};
pub use invocation_context::InvocationContext;
pub use invoke_records::{Report, ReportMetrics, RuntimeDone, RuntimeDoneMetrics, Start};
pub use outcome::InvocationOutcome;
pub use record::Record;
pub use record_parts::{PhaseMetrics, PlatformSpan, TraceContext};
pub(crate) use rfc3339::parse_rfc3339;
pub use spans::{INIT_SPAN_NAME, INVOKE_SPAN_NAME};
pub use telemetry::{INIT_JOIN_EVENT_LIMIT, PlatformTelemetry, SCOPE_NAME};
pub use values::{InitPhase, InitializationType, Status};
