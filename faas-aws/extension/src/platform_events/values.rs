//! The enumerated values of Telemetry API records: [`InitializationType`], [`InitPhase`],
//! [`Status`]. Unknown values are kept as text ([`Other`](Status::Other)) rather than failing the
//! record, since Lambda adds values over time.

use serde::Deserialize;

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
