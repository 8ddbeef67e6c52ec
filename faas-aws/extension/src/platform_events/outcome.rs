//! [`InvocationOutcome`]: how an invocation ended, as the platform reported it.

use super::values::Status;

/// How an invocation ended, from `platform.runtimeDone` or `platform.report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvocationOutcome {
    /// Status `success`.
    Success,
    /// Status `error`, `failure` or any status this module does not know.
    Error,
    /// Status `timeout`.
    Timeout,
}

impl From<&Status> for InvocationOutcome {
    fn from(status: &Status) -> Self {
        match status {
            Status::Success => Self::Success,
            Status::Timeout => Self::Timeout,
            Status::Error | Status::Failure | Status::Other(_) => Self::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_outcomes() {
        for (status, expected) in [
            (Status::Success, InvocationOutcome::Success),
            (Status::Error, InvocationOutcome::Error),
            (Status::Failure, InvocationOutcome::Error),
            (Status::Timeout, InvocationOutcome::Timeout),
            (Status::Other("x".into()), InvocationOutcome::Error),
        ] {
            assert_eq!(InvocationOutcome::from(&status), expected);
        }
    }
}
