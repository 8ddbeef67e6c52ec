//! The error code of a failed SDK call, read from whichever operation error type it is.

use std::fmt;

use aws_smithy_runtime_api::client::interceptors::context::Error;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The code of `error` when it is the operation error `E` and the SDK parsed one
/// (`None` when it is another type or has no code).
#[cfg_attr(
    not(any(
        feature = "sqs",
        feature = "sns",
        feature = "eventbridge",
        feature = "lambda"
    )),
    allow(dead_code)
)]
pub(crate) fn code_of<E>(error: &Error) -> Option<String>
where
    E: ProvideErrorMetadata + std::error::Error + fmt::Debug + Send + Sync + 'static,
{
    error.downcast_ref::<E>()?.code().map(str::to_owned)
}
