//! Which export errors are worth another attempt: the OTLP specification's retryable
//! answers, and no answer at all.
//!
//! OTLP/HTTP: 429, 502, 503 and 504 are retryable; every other status "MUST NOT be retried"
//! (the collector has looked at the data and will not take it). A request that got no answer
//! (connection refused or reset: the exporter's "network error") is retryable too. OTLP/gRPC:
//! `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, `CANCELLED`, `ABORTED`, `OUT_OF_RANGE`,
//! `DEADLINE_EXCEEDED` and `DATA_LOSS`. `opentelemetry-otlp` returns all of these as
//! `InternalFailure` with a message that names the status, so the message is what is read;
//! an error this does not recognise (a custom exporter's, a body too large) is permanent, so
//! a batch that can never be sent is not kept forever.

use opentelemetry_sdk::error::OTelSdkError;

/// What a failed export means for its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The collector is down, overloaded or unreachable: keep the batch, back off.
    Transient,
    /// The collector answered that it will not take this batch: drop it.
    Permanent,
}

const RETRYABLE_HTTP: [u16; 4] = [429, 502, 503, 504];
const RETRYABLE_GRPC: [&str; 7] = [
    "Unavailable",
    "ResourceExhausted",
    "Cancelled",
    "Aborted",
    "OutOfRange",
    "DeadlineExceeded",
    "DataLoss",
];

/// Classifies an export error.
pub(crate) fn classify(error: &OTelSdkError) -> Failure {
    let message = match error {
        OTelSdkError::Timeout(_) => return Failure::Transient,
        OTelSdkError::InternalFailure(message) => message.as_str(),
        _ => return Failure::Permanent,
    };
    if message.contains("network error") {
        return Failure::Transient;
    }
    if let Some(rest) = message.split("status code: ").nth(1) {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return match digits.parse::<u16>() {
            Ok(status) if RETRYABLE_HTTP.contains(&status) => Failure::Transient,
            _ => Failure::Permanent,
        };
    }
    if let Some(rest) = message.split("gRPC code: ").nth(1) {
        let code: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        if RETRYABLE_GRPC.contains(&code.as_str()) {
            return Failure::Transient;
        }
    }
    Failure::Permanent
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_otlp_retryable_answers_are_transient() {
        let internal = |m: &str| OTelSdkError::InternalFailure(m.to_owned());
        let cases = [
            ("HTTP export failed: network error", Failure::Transient),
            (
                "HTTP export failed with status code: 503",
                Failure::Transient,
            ),
            (
                "HTTP export failed with status code: 429",
                Failure::Transient,
            ),
            (
                "HTTP export failed with status code: 502",
                Failure::Transient,
            ),
            (
                "HTTP export failed with status code: 504",
                Failure::Transient,
            ),
            (
                "HTTP export failed with status code: 500",
                Failure::Permanent,
            ),
            (
                "HTTP export failed with status code: 400",
                Failure::Permanent,
            ),
            (
                "HTTP export failed with status code: 401",
                Failure::Permanent,
            ),
            (
                "HTTP export failed with status code: 5031",
                Failure::Permanent,
            ),
            ("HTTP export failed with status code: ", Failure::Permanent),
            (
                "Trace export failed with gRPC code: Unavailable: transport error",
                Failure::Transient,
            ),
            (
                "Trace export failed with gRPC code: DeadlineExceeded",
                Failure::Transient,
            ),
            (
                "Trace export failed with gRPC code: InvalidArgument",
                Failure::Permanent,
            ),
            (
                "Trace export failed with gRPC code: Unauthenticated",
                Failure::Permanent,
            ),
            ("request body too large", Failure::Permanent),
            ("", Failure::Permanent),
        ];
        for (message, expected) in cases {
            assert_eq!(classify(&internal(message)), expected, "{message:?}");
        }
        assert_eq!(
            classify(&OTelSdkError::Timeout(Duration::from_secs(1))),
            Failure::Transient
        );
        assert_eq!(classify(&OTelSdkError::AlreadyShutdown), Failure::Permanent);
    }
}
