//! Parts several records share: [`PlatformSpan`], [`TraceContext`], [`PhaseMetrics`].

use std::time::SystemTime;

use serde::Deserialize;

use super::lenient::time;

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

/// `metrics` of `platform.initReport` and `platform.restoreReport`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseMetrics {
    /// Duration of the phase, in milliseconds.
    pub duration_ms: f64,
}
