//! The records of one invocation: `platform.start`, `platform.runtimeDone`, `platform.report`.

use serde::Deserialize;

use super::lenient::{lenient, lenient_list, optional_whole_number, present_whole_number};
use super::record_parts::{PlatformSpan, TraceContext};
use super::values::Status;

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
    #[serde(default, deserialize_with = "lenient_list")]
    pub spans: Vec<PlatformSpan>,
    /// X-Ray trace context.
    #[serde(default, deserialize_with = "lenient")]
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.report`.
///
/// Schema `2022-12-13` (Lambda's default execution environments) always gives the billed
/// duration and the memory; schema `2025-01-29` on Lambda Managed Instances gives only
/// `durationMs` (the instances are billed as EC2 capacity, not per invocation), so those three
/// are `None` there. A value that is present must be a non-negative number.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportMetrics {
    /// Duration of the invocation, in milliseconds.
    pub duration_ms: f64,
    /// Duration billed, in milliseconds (`None` on Lambda Managed Instances).
    #[serde(default, deserialize_with = "present_whole_number")]
    pub billed_duration_ms: Option<u64>,
    /// Configured memory, in MB (`None` on Lambda Managed Instances).
    #[serde(
        rename = "memorySizeMB",
        default,
        deserialize_with = "present_whole_number"
    )]
    pub memory_size_mb: Option<u64>,
    /// Most memory used by the environment during the invocation, in MB (`None` on Lambda
    /// Managed Instances).
    #[serde(
        rename = "maxMemoryUsedMB",
        default,
        deserialize_with = "present_whole_number"
    )]
    pub max_memory_used_mb: Option<u64>,
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
    #[serde(default, deserialize_with = "lenient_list")]
    pub spans: Vec<PlatformSpan>,
    /// X-Ray trace context.
    #[serde(default, deserialize_with = "lenient")]
    pub tracing: Option<TraceContext>,
}
