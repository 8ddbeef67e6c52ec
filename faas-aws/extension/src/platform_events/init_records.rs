//! The records of initialization and SnapStart restore: `platform.initStart`,
//! `platform.initRuntimeDone`, `platform.initReport`, `platform.restoreStart`,
//! `platform.restoreRuntimeDone`, `platform.restoreReport`.

use serde::Deserialize;

use super::lenient::{lenient_list, optional_whole_number};
use super::record_parts::{PhaseMetrics, PlatformSpan};
use super::values::{InitPhase, InitializationType, Status};

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
    #[serde(default, deserialize_with = "lenient_list")]
    pub spans: Vec<PlatformSpan>,
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
    #[serde(default, deserialize_with = "lenient_list")]
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
    #[serde(default, deserialize_with = "lenient_list")]
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
    #[serde(default, deserialize_with = "lenient_list")]
    pub spans: Vec<PlatformSpan>,
}
