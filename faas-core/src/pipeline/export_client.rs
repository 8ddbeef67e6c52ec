//! [`ExportClient`]: which request body type the OTLP/HTTP export client is built for.
//!
//! The export client is hyper's pooled HTTP/1 client, generic over its request body. A
//! provider whose runtime already links that client for some body type (`lambda_runtime` does,
//! for its own `Body`) names that type here, so the exporter's client is the very same type
//! and its code is compiled and linked once: about 45 KB less in a Lambda zip (BENCHMARKS.md,
//! section 5). Nothing else changes: timeouts, the response cap, TLS and no redirects are the
//! same for every body type.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

use super::export_body::ExportBody;
use super::http_client::ExportHttpClient;

/// Builds an export client: `(timeout, tls, certificate)` as [`ExportHttpClient::new`] takes.
type MakeClient = fn(Duration, bool, Option<&Path>) -> Result<Arc<dyn HttpClient>, String>;

/// The request body type of the OTLP/HTTP export client (see the module docs); set with
/// `TelemetryBuilder::with_export_client`. Without one, the feature `default-client` (on by
/// default) sends `http_body_util::Full<Bytes>`; without that feature either, building an
/// OTLP/HTTP exporter fails with an error that says so.
#[derive(Clone, Copy)]
pub struct ExportClient {
    make: MakeClient,
    body: &'static str,
}

impl ExportClient {
    /// Export requests carry body type `B`, built from the encoded request's bytes.
    pub fn with_body<B: ExportBody>() -> Self {
        Self {
            make: make::<B>,
            body: std::any::type_name::<B>(),
        }
    }

    /// `chosen`, else faas-core's default (feature `default-client`).
    pub(crate) fn or_default(chosen: Option<Self>) -> Result<Self, String> {
        if let Some(chosen) = chosen {
            return Ok(chosen);
        }
        #[cfg(feature = "default-client")]
        return Ok(Self::with_body::<http_body_util::Full<Bytes>>());
        #[cfg(not(feature = "default-client"))]
        Err("no OTLP/HTTP export client: call TelemetryBuilder::with_export_client, or enable faas-core's feature `default-client`".to_owned())
    }

    /// A client for one endpoint (`tls`: it is `https://`).
    pub(crate) fn build(
        &self,
        timeout: Duration,
        tls: bool,
        certificate: Option<&Path>,
    ) -> Result<SharedClient, String> {
        (self.make)(timeout, tls, certificate).map(SharedClient)
    }
}

fn make<B: ExportBody>(
    timeout: Duration,
    tls: bool,
    certificate: Option<&Path>,
) -> Result<Arc<dyn HttpClient>, String> {
    let client = ExportHttpClient::<B>::new(timeout, tls, certificate)?;
    Ok(Arc::new(client))
}

impl fmt::Debug for ExportClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportClient")
            .field("body", &self.body)
            .finish()
    }
}

/// A built export client, shared by the exporters of one endpoint.
#[derive(Debug, Clone)]
pub(crate) struct SharedClient(Arc<dyn HttpClient>);

#[async_trait::async_trait]
impl HttpClient for SharedClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        self.0.send_bytes(request).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "default-client")]
    fn the_default_sends_full_bytes_and_debug_names_the_body() {
        let default = ExportClient::or_default(None).unwrap();
        assert!(format!("{default:?}").contains("Full<bytes::bytes::Bytes>"));
        let chosen = ExportClient::with_body::<http_body_util::Full<Bytes>>();
        assert_eq!(format!("{chosen:?}"), format!("{default:?}"));
        let kept = ExportClient::or_default(Some(chosen)).unwrap();
        assert_eq!(format!("{kept:?}"), format!("{chosen:?}"));
        let client = default
            .build(Duration::from_millis(100), false, None)
            .unwrap();
        assert!(format!("{client:?}").contains("tls: false"));
    }

    #[test]
    #[cfg(not(feature = "default-client"))]
    fn without_the_default_client_the_error_says_what_to_do() {
        let error = ExportClient::or_default(None).unwrap_err();
        assert!(error.contains("with_export_client") && error.contains("default-client"));
    }
}
