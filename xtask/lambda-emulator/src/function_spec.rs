//! What to run as one Lambda function.

use std::path::PathBuf;
use std::time::Duration;

/// What to run as one Lambda function: the runtime binary (`bootstrap`), its environment
/// variables, the extension binaries started beside it, its memory size and timeout.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The function's executable (a custom runtime's `bootstrap`).
    pub binary: PathBuf,
    /// Extra environment variables (the function's configuration); they override the Lambda
    /// defaults set by the emulator, except `AWS_LAMBDA_RUNTIME_API`.
    pub env: Vec<(String, String)>,
    /// External extensions (`/opt/extensions/*`), started before the runtime.
    pub extensions: Vec<PathBuf>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and `memorySizeMB` of the reports.
    pub memory_mb: u32,
    /// The invocation timeout: `Lambda-Runtime-Deadline-Ms` is delivery time plus this, and an
    /// invoke phase that lasts longer times out.
    pub timeout: Duration,
}

impl FunctionSpec {
    /// A spec for `binary` with Lambda's console defaults: 128 MB, 3 s, no extension, no
    /// extra variable.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            env: Vec::new(),
            extensions: Vec::new(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_defaults_are_lambdas() {
        let spec = FunctionSpec::new("/x/bootstrap");
        assert_eq!(
            (spec.memory_mb, spec.timeout),
            (128, Duration::from_secs(3))
        );
        assert!(spec.env.is_empty() && spec.extensions.is_empty());
    }
}
