//! The records about the execution environment's other parties: `platform.extension`,
//! `platform.telemetrySubscription`, `platform.logsDropped`.

use serde::Deserialize;

use super::lenient::whole_number;

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
