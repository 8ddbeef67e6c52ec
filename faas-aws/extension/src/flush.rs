//! [`FlushStrategy`]: when the extension exports, set by `FAAS_OTEL_EXTENSION_FLUSH`.
//!
//! Lambda bills the time an extension works after the function's response, until it asks for
//! the next event, in 1 ms steps; it does not bill what the extension does while the function
//! runs. The strategies trade that billed time against how soon data reaches the upstream and
//! how much is at stake if the environment is frozen for long or killed.

use faas_core::ConfigError;

/// The variable choosing the strategy.
pub(crate) const FLUSH_VARIABLE: &str = "FAAS_OTEL_EXTENSION_FLUSH";

/// When to export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum FlushStrategy {
    /// After every invocation, before asking for the next event: the freshest data and
    /// nothing held while frozen, at one upstream round trip of billed time per invocation.
    End,
    /// Never after an invocation: at the start of the next one (while the function runs), on
    /// the interval during long invocations, and the final drain at SHUTDOWN. No billed time:
    /// the extension asks for the next event right after INVOKE and takes the function's data
    /// while it waits; an invocation's data waits for the next invocation (or SHUTDOWN).
    Periodic,
    /// [`Self::End`] while needed (the first invocations of an environment, and while
    /// invocations are rare enough that it may stay frozen for long), [`Self::Periodic`] once
    /// they come steadily.
    #[default]
    Adaptive,
}

impl FlushStrategy {
    /// Reads `end`, `periodic` or `adaptive` (any case; `None`: the default).
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        let Some(value) = value else {
            return Ok(Self::default());
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "end" => Ok(Self::End),
            "periodic" => Ok(Self::Periodic),
            "adaptive" => Ok(Self::Adaptive),
            _ => Err(ConfigError::new(
                FLUSH_VARIABLE,
                value,
                "expected end, periodic or adaptive",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_errors() {
        let table: &[(Option<&str>, Option<FlushStrategy>)] = &[
            (None, Some(FlushStrategy::Adaptive)),
            (Some("end"), Some(FlushStrategy::End)),
            (Some(" Periodic "), Some(FlushStrategy::Periodic)),
            (Some("ADAPTIVE"), Some(FlushStrategy::Adaptive)),
            (Some(""), None),
            (Some("always"), None),
        ];
        for (value, expected) in table {
            let parsed = FlushStrategy::parse(*value);
            assert_eq!(parsed.as_ref().ok(), expected.as_ref(), "{value:?}");
            if let Err(error) = parsed {
                assert_eq!(error.variable, FLUSH_VARIABLE);
            }
        }
    }
}
