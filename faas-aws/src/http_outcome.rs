//! [`HttpOutcomeLayer`]: wraps a `lambda_http` service so the invocation span gets
//! `http.response.status_code` (and error status for 5xx) and the handler's errors.

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use faas_core::invocation::Outcome;
use futures_util::FutureExt as _;
use lambda_http::{IntoResponse, Request, Response};
use tower::{Layer, Service};

use crate::invocation_state::InvocationState;
use crate::outcome::short_type_name;

/// Wraps a `lambda_http` service; [`crate::run_http`] adds it for you.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpOutcomeLayer;

impl<S> Layer<S> for HttpOutcomeLayer {
    type Service = HttpOutcomeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpOutcomeService { inner }
    }
}

/// The service [`HttpOutcomeLayer`] produces.
#[derive(Debug, Clone)]
pub struct HttpOutcomeService<S> {
    inner: S,
}

impl<S, R> Service<Request> for HttpOutcomeService<S>
where
    S: Service<Request, Response = R>,
    S::Future: Send + 'static,
    S::Error: Display + Send + 'static,
    R: IntoResponse + Send + 'static,
{
    type Response = Response<lambda_http::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let future = self.inner.call(request);
        Box::pin(async move {
            // Looked up when polled: the layer makes the invocation's context current around
            // every poll of this future.
            let state = InvocationState::current();
            let result = AssertUnwindSafe(future).catch_unwind().await;
            match result {
                Ok(Ok(response)) => {
                    let response = response.into_response().await;
                    if let Some(state) = state {
                        let status = response.status().as_u16();
                        state.set_http_status(status);
                        state.handler_ended(Outcome::from_http_status(status));
                    }
                    Ok(response)
                }
                Ok(Err(error)) => {
                    if let Some(state) = state {
                        state.handler_ended(Outcome::Error {
                            error_type: short_type_name::<S::Error>(),
                            message: error.to_string(),
                        });
                    }
                    Err(error)
                }
                Err(panic) => {
                    if let Some(state) = state {
                        state.handler_ended(Outcome::Error {
                            error_type: "panic".to_owned(),
                            message: "handler panicked".to_owned(),
                        });
                    }
                    std::panic::resume_unwind(panic)
                }
            }
        })
    }
}
