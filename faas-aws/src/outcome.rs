//! [`OutcomeLayer`]: wraps a `lambda_runtime` handler so the invocation span learns how it
//! ended (`Err`, panic) and what it answered (HTTP status, SQS batch item failures).

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use faas_core::invocation::Outcome;
use futures_util::FutureExt as _;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use tower::{Layer, Service};

use crate::invocation_state::{InvocationState, record_response_facts};

/// Wraps a handler; see the module docs. [`crate::run()`] adds it for you.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutcomeLayer;

impl<S> Layer<S> for OutcomeLayer {
    type Service = OutcomeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OutcomeService { inner }
    }
}

/// The service [`OutcomeLayer`] produces.
#[derive(Debug, Clone)]
pub struct OutcomeService<S> {
    inner: S,
}

/// A short, low-cardinality name of an error type for `error.type`.
pub(crate) fn short_type_name<E: ?Sized>() -> String {
    let full = std::any::type_name::<E>();
    if full.contains("dyn ") {
        // Boxed trait objects say nothing useful about the error itself.
        return "Error".to_owned();
    }
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

impl<S, A, R> Service<LambdaEvent<A>> for OutcomeService<S>
where
    S: Service<LambdaEvent<A>, Response = R>,
    S::Future: Send + 'static,
    S::Error: Display + Send + 'static,
    R: Serialize + Send + 'static,
{
    type Response = R;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<R, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<A>) -> Self::Future {
        let future = self.inner.call(event);
        Box::pin(async move {
            // Looked up when polled: the layer makes the invocation's context current around
            // every poll of this future.
            let state = InvocationState::current();
            let result = AssertUnwindSafe(future).catch_unwind().await;
            let Some(state) = state else {
                return result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            };
            match result {
                Ok(Ok(response)) => {
                    if let Ok(value) = serde_json::to_value(&response) {
                        record_response_facts(&state, &value);
                    }
                    state.handler_ended(Outcome::Ok);
                    Ok(response)
                }
                Ok(Err(error)) => {
                    state.handler_ended(Outcome::Error {
                        error_type: short_type_name::<S::Error>(),
                        message: error.to_string(),
                    });
                    Err(error)
                }
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".to_owned());
                    state.handler_ended(Outcome::Error {
                        error_type: "panic".to_owned(),
                        message,
                    });
                    std::panic::resume_unwind(panic)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct OrderRejected;

    #[test]
    fn error_type_names_are_short() {
        assert_eq!(short_type_name::<OrderRejected>(), "OrderRejected");
        assert_eq!(short_type_name::<std::io::Error>(), "Error");
        assert_eq!(short_type_name::<lambda_runtime::Error>(), "Error");
        assert_eq!(short_type_name::<String>(), "String");
    }
}
