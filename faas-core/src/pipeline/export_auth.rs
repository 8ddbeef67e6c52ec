//! [`ExportAuth`]: the hook that authorizes every OTLP/HTTP request the exporters send, so a
//! function can export straight to a cloud's own OTLP endpoint (AWS SigV4 in faas-aws, a
//! Google OAuth token in faas-gcp) while faas-core stays provider-neutral.
//!
//! The hook runs inside the HTTP client, on the request exactly as it leaves: after the body
//! was encoded and compressed, with every configured header set, once per attempt (an export
//! that is sent again is authorized again, so a signature or a token is never replayed stale).
//! It runs inside the flush, so its time counts against the flush budget: an implementation
//! must answer from a cache and refresh off that path.

use std::fmt::Debug;
use std::sync::Arc;

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

use crate::faas_environment::BoxFuture;

/// Why a request could not be authorized. Its message names what is missing and where it was
/// looked for; it never contains a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExportAuthError(pub String);

/// Authorizes one outgoing OTLP/HTTP request: adds headers (a signature, a bearer token) to
/// `request`, whose body is final (compressed when compression is on).
///
/// Set it with [`TelemetryBuilder::with_export_auth`](super::TelemetryBuilder::with_export_auth).
/// It applies to the OTLP/HTTP exporters (`http/protobuf`, `http/json`), not to gRPC.
/// `Debug` must not print credentials.
pub trait ExportAuth: Send + Sync + Debug {
    /// Adds the authorization of `request`; an error fails this attempt (the request is not
    /// sent).
    fn authorize<'a>(
        &'a self,
        request: &'a mut Request<Bytes>,
    ) -> BoxFuture<'a, Result<(), ExportAuthError>>;
}

/// An HTTP client that authorizes each request with an [`ExportAuth`] before `inner` sends
/// it.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizingClient<C> {
    inner: C,
    auth: Option<Arc<dyn ExportAuth>>,
}

impl<C> AuthorizingClient<C> {
    /// `inner`, authorizing with `auth` when there is one.
    pub(crate) fn new(inner: C, auth: Option<Arc<dyn ExportAuth>>) -> Self {
        Self { inner, auth }
    }
}

#[async_trait::async_trait]
impl<C: HttpClient> HttpClient for AuthorizingClient<C> {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        if let Some(auth) = &self.auth {
            auth.authorize(&mut request).await?;
        }
        self.inner.send_bytes(request).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records the bodies it saw and adds a header numbering the attempt.
    #[derive(Debug, Default)]
    struct Counting(Mutex<Vec<Bytes>>);

    impl ExportAuth for Counting {
        fn authorize<'a>(
            &'a self,
            request: &'a mut Request<Bytes>,
        ) -> BoxFuture<'a, Result<(), ExportAuthError>> {
            Box::pin(async move {
                let mut seen = self.0.lock().unwrap();
                seen.push(request.body().clone());
                let n = http::HeaderValue::from(seen.len());
                request.headers_mut().insert("x-attempt", n);
                Ok(())
            })
        }
    }

    #[derive(Debug)]
    struct Refusing;

    impl ExportAuth for Refusing {
        fn authorize<'a>(
            &'a self,
            _request: &'a mut Request<Bytes>,
        ) -> BoxFuture<'a, Result<(), ExportAuthError>> {
            Box::pin(async { Err(ExportAuthError("no credentials".into())) })
        }
    }

    /// Answers with the request's `x-attempt` header as the body.
    #[derive(Debug)]
    struct Echo;

    #[async_trait::async_trait]
    impl HttpClient for Echo {
        async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
            let attempt = request
                .headers()
                .get("x-attempt")
                .map(|v| Bytes::copy_from_slice(v.as_bytes()))
                .unwrap_or_default();
            Ok(Response::builder().status(200).body(attempt)?)
        }
    }

    fn request(body: &'static [u8]) -> Request<Bytes> {
        Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:9/v1/traces")
            .body(Bytes::from_static(body))
            .unwrap()
    }

    #[tokio::test]
    async fn every_attempt_is_authorized_with_the_final_body() {
        let auth = Arc::new(Counting::default());
        let client = AuthorizingClient::new(Echo, Some(auth.clone() as Arc<dyn ExportAuth>));
        let first = client.send_bytes(request(b"gzipped-1")).await.unwrap();
        let second = client.send_bytes(request(b"gzipped-1")).await.unwrap();
        assert_eq!(first.body().as_ref(), b"1");
        assert_eq!(second.body().as_ref(), b"2");
        assert_eq!(
            *auth.0.lock().unwrap(),
            [
                Bytes::from_static(b"gzipped-1"),
                Bytes::from_static(b"gzipped-1")
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_authorization_sends_nothing_and_no_auth_passes_through() {
        let refusing =
            AuthorizingClient::new(Echo, Some(Arc::new(Refusing) as Arc<dyn ExportAuth>));
        let err = refusing.send_bytes(request(b"x")).await.unwrap_err();
        assert_eq!(err.to_string(), "no credentials");
        let plain = AuthorizingClient::new(Echo, None);
        let response = plain.send_bytes(request(b"x")).await.unwrap();
        assert_eq!(
            (response.status().as_u16(), response.body().len()),
            (200, 0)
        );
    }
}
