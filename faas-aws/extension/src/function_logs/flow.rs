//! [`on_batch`], [`release`]: function log records between the Telemetry API listener, the
//! function's traces (in [`PlatformTelemetry`]) and the buffer.
//!
//! Locks are taken in the order platform → logs, and the buffer only after both are released,
//! so this never waits on a lock while holding one that the lifecycle takes first.

use std::sync::Mutex;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

use crate::buffer::Buffer;
use crate::drops::{DropReason, Drops, Signal};
use crate::lock::lock;
use crate::platform_events::{PlatformEvent, PlatformTelemetry};

use super::tying::FunctionLogs;

/// Takes one Telemetry API batch's log lines: records whose invocation's trace is known (or
/// that belong to none) go into the buffer (within its cap, drops counted as `log_records`), the
/// others are held; `platform.logsDropped` counts go to `drops` as dropped `log_records`
/// (reason `platform`).
pub(crate) fn on_batch(
    platform: &Mutex<PlatformTelemetry>,
    logs: &Mutex<FunctionLogs>,
    (buffer, drops): (&Mutex<Buffer>, &Drops),
    body: &[u8],
    events: &[PlatformEvent],
) {
    let (request, dropped_by_platform) = {
        let platform = lock(platform);
        let context_of = |id: &str| platform.invocation(id).copied();
        let mut logs = lock(logs);
        logs.on_batch(body, events, &context_of);
        (
            logs.take_ready(platform.resource()),
            logs.take_dropped_by_platform(),
        )
    };
    if dropped_by_platform > 0 {
        eprintln!(
            "faas-otel-extension: the platform dropped {dropped_by_platform} telemetry records (platform.logsDropped)"
        );
        drops.add(
            Signal::LogRecords,
            DropReason::Platform,
            dropped_by_platform,
        );
    }
    push(buffer, request);
}

/// Moves into the buffer the held records whose trace is now known (`finish`: every held
/// record, at shutdown). Call before an export.
pub(crate) fn release(
    platform: &Mutex<PlatformTelemetry>,
    logs: &Mutex<FunctionLogs>,
    buffer: &Mutex<Buffer>,
    finish: bool,
) {
    let request = {
        let platform = lock(platform);
        let context_of = |id: &str| platform.invocation(id).copied();
        let mut logs = lock(logs);
        if finish {
            logs.finish(&context_of);
        } else {
            logs.release_known(&context_of);
        }
        logs.take_ready(platform.resource())
    };
    push(buffer, request);
}

/// Buffers `request` within the cap (the buffer counts what it drops).
fn push(buffer: &Mutex<Buffer>, request: Option<ExportLogsServiceRequest>) {
    let Some(request) = request else {
        return;
    };
    let dropped = lock(buffer).push_logs(request);
    if dropped > 0 {
        eprintln!(
            "faas-otel-extension: memory cap reached, {dropped} function log records dropped (FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES)"
        );
    }
}
