//! [`InvokeEvent`]: one invocation a test queues on a [`crate::ScriptedLambda`], as the
//! extensions receive it (an INVOKE event) and as the runtime receives it (`next`'s body and
//! `Lambda-Runtime-*` headers).

use std::time::Duration;

/// An X-Ray header for scripted invocations that do not name one.
pub const DEFAULT_TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// An invocation to queue: an INVOKE event for the extensions registered for it, and the
/// event the runtime gets from `next`.
#[derive(Debug, Clone)]
pub struct InvokeEvent {
    /// `requestId` and `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `deadlineMs` and `Lambda-Runtime-Deadline-Ms` are now (when queued) plus this (default
    /// 30 s).
    pub deadline_in: Duration,
    /// `tracing.value` and `Lambda-Runtime-Trace-Id` (default [`DEFAULT_TRACE_HEADER`]);
    /// `None` leaves the header and the event's `tracing` out (see
    /// [`InvokeEvent::without_trace_header`]).
    pub trace_header: Option<String>,
    /// `invokedFunctionArn` and `Lambda-Runtime-Invoked-Function-Arn` (default: the function's
    /// ARN).
    pub invoked_function_arn: Option<String>,
    /// The event the runtime receives (default `{}`).
    pub payload: Vec<u8>,
    /// `Lambda-Runtime-Client-Context`: the client context as JSON text (the Invoke API's
    /// `X-Amz-Client-Context`, base64-decoded), left out when `None`.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`: the caller's Amazon Cognito identity as JSON text
    /// (`{"cognitoIdentityId":..,"cognitoIdentityPoolId":..}`), left out when `None`.
    pub cognito_identity: Option<String>,
}

impl InvokeEvent {
    /// An invocation `request_id` with the defaults.
    pub fn new(request_id: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            deadline_in: Duration::from_secs(30),
            trace_header: Some(DEFAULT_TRACE_HEADER.into()),
            invoked_function_arn: None,
            payload: b"{}".to_vec(),
            client_context: None,
            cognito_identity: None,
        }
    }

    /// With the deadline `deadline_in` from now.
    pub fn deadline_in(mut self, deadline_in: Duration) -> Self {
        self.deadline_in = deadline_in;
        self
    }

    /// With `trace_header` as `tracing.value` and `Lambda-Runtime-Trace-Id`.
    pub fn trace_header(mut self, trace_header: impl Into<String>) -> Self {
        self.trace_header = Some(trace_header.into());
        self
    }

    /// With no trace header at all: the runtime's `next` has no `Lambda-Runtime-Trace-Id` and
    /// the INVOKE event no `tracing`, so a traced function has no parent and samples a root
    /// of its own. (Lambda always sends a header, but with tracing off it carries no sampled
    /// parent: `Sampled=0`, or only `Root=...`.)
    pub fn without_trace_header(mut self) -> Self {
        self.trace_header = None;
        self
    }

    /// With `arn` as the invoked function ARN (an alias or version ARN, say).
    pub fn invoked_function_arn(mut self, arn: impl Into<String>) -> Self {
        self.invoked_function_arn = Some(arn.into());
        self
    }

    /// With `payload` as the event the runtime receives.
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = payload.into();
        self
    }

    /// With `client_context` (JSON text) as `Lambda-Runtime-Client-Context`.
    pub fn client_context(mut self, client_context: impl Into<String>) -> Self {
        self.client_context = Some(client_context.into());
        self
    }

    /// With `cognito_identity` (JSON text) as `Lambda-Runtime-Cognito-Identity`.
    pub fn cognito_identity(mut self, cognito_identity: impl Into<String>) -> Self {
        self.cognito_identity = Some(cognito_identity.into());
        self
    }
}
