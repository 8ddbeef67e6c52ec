//! [`Error`]: what ends [`run`](super::run) early.

/// The error type of [`run`](crate::run): a configuration error (reported to the platform as
/// `Extension.ConfigError` first), or an error of the Lambda APIs or of binding a listener.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
