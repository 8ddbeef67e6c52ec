#![doc = include_str!("../README.md")]

#[doc(hidden)]
pub mod bench_api;
mod bounded_map;
mod buffer;
mod config;
mod drops;
mod flush;
mod forward;
mod function_logs;
mod lifecycle;
mod lock;
mod otlp;
mod platform_events;
mod receive;
mod recent_ids;
mod state;
mod tail_sampling;
mod upstream_auth;

pub use buffer::HELD_REQUEST_OVERHEAD;
pub use config::VARIABLES;
pub use lifecycle::{Error, run};
pub use platform_events::{
    ExtensionRecord, INIT_JOIN_EVENT_LIMIT, INIT_SPAN_NAME, INVOKE_SPAN_NAME, InitPhase,
    InitReport, InitRuntimeDone, InitStart, InitializationType, InvocationContext,
    InvocationOutcome, LogsDropped, MANAGED_INSTANCES_SCHEMA_VERSION, OtherReason, PhaseMetrics,
    PlatformEvent, PlatformSpan, PlatformTelemetry, Record, Report, ReportMetrics, RestoreReport,
    RestoreRuntimeDone, RestoreStart, RuntimeDone, RuntimeDoneMetrics, SCHEMA_VERSION, SCOPE_NAME,
    Start, Status, TelemetrySubscription, TraceContext, parse_batch,
};
