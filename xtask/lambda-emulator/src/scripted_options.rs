//! [`ScriptedOptions`]: how to start a [`crate::ScriptedLambda`].

use crate::defaults::DEFAULT_REGION;
use crate::journal::Sequence;

/// How to start a [`crate::ScriptedLambda`].
#[derive(Debug, Clone)]
pub struct ScriptedOptions {
    /// `AWS_LAMBDA_FUNCTION_NAME` and the function in the ARNs (default `orders`).
    pub function_name: String,
    /// `AWS_REGION` and the region of the ARNs (default [`DEFAULT_REGION`]).
    pub region: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (default 128).
    pub memory_mb: u32,
    /// Behave as Lambda Managed Instances: a registration asking for INVOKE is refused (400),
    /// a Telemetry API subscription must use schema `2025-01-29`, the Logs API does not exist,
    /// and [`crate::ScriptedLambda::env`] says
    /// `AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`.
    pub managed_instances: bool,
    /// How many invocations the Runtime API keeps in flight at once, each handed to its own
    /// `next` caller (default 1, as on demand; 0 counts as 1). Above 1, or with
    /// `managed_instances`, [`crate::ScriptedLambda::env`] gives it as
    /// `AWS_LAMBDA_MAX_CONCURRENCY`, as Lambda Managed Instances do.
    pub max_concurrency: usize,
    /// The sequence that numbers the entries; share it with the test's other fakes.
    pub sequence: Sequence,
}

impl Default for ScriptedOptions {
    fn default() -> Self {
        Self {
            function_name: "orders".into(),
            region: DEFAULT_REGION.into(),
            memory_mb: 128,
            managed_instances: false,
            max_concurrency: 1,
            sequence: Sequence::new(),
        }
    }
}
