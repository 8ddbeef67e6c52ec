//! [`severity_number`]: a log level as written by a runtime or a logging library, as an OTLP
//! severity number.

use opentelemetry_proto::tonic::logs::v1::SeverityNumber;

/// The OTLP severity of `level` (`INFO`, `warn`, `Warning`, `[ERROR]`, ...; case-insensitive,
/// square brackets allowed), `None` when it is not a level.
///
/// `TRACE` 1, `DEBUG` 5, `INFO` 9, `WARN`/`WARNING` 13, `ERROR`/`ERR` 17,
/// `FATAL`/`CRITICAL`/`CRIT` 21: the levels of Lambda's runtimes (`AWS_LAMBDA_LOG_LEVEL`,
/// Python's `CRITICAL`), of `tracing` and of `log`.
pub(crate) fn severity_number(level: &str) -> Option<SeverityNumber> {
    let level = level
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .unwrap_or(level);
    let known = [
        ("TRACE", SeverityNumber::Trace),
        ("DEBUG", SeverityNumber::Debug),
        ("INFO", SeverityNumber::Info),
        ("WARN", SeverityNumber::Warn),
        ("WARNING", SeverityNumber::Warn),
        ("ERROR", SeverityNumber::Error),
        ("ERR", SeverityNumber::Error),
        ("FATAL", SeverityNumber::Fatal),
        ("CRITICAL", SeverityNumber::Fatal),
        ("CRIT", SeverityNumber::Fatal),
    ];
    known
        .iter()
        .find(|(name, _)| level.eq_ignore_ascii_case(name))
        .map(|(_, number)| *number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_not_levels() {
        for (level, expected) in [
            ("TRACE", Some(SeverityNumber::Trace)),
            ("debug", Some(SeverityNumber::Debug)),
            ("Info", Some(SeverityNumber::Info)),
            ("[INFO]", Some(SeverityNumber::Info)),
            ("WARN", Some(SeverityNumber::Warn)),
            ("warning", Some(SeverityNumber::Warn)),
            ("ERROR", Some(SeverityNumber::Error)),
            ("FATAL", Some(SeverityNumber::Fatal)),
            ("CRITICAL", Some(SeverityNumber::Fatal)),
            ("", None),
            ("[]", None),
            ("INFORMATION", None),
            ("[INFO", None),
            ("hello", None),
        ] {
            assert_eq!(severity_number(level), expected, "{level:?}");
        }
    }
}
