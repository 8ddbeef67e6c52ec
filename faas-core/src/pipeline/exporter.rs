//! The span and metric exporters a flush sends through, built from [`TelemetryConfig`].

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use opentelemetry_otlp::{RetryPolicy, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::export_auth::AuthorizingClient;
use super::export_client::{ExportClient, SharedClient};
use crate::config::{Compression, Protocol, TelemetryConfig};
use crate::error::Error;
use crate::faas_environment::BoxFuture;

/// An object-safe [`SpanExporter`].
pub(crate) trait DynSpanExporter: Send + Sync + Debug {
    fn export_boxed(&self, batch: Vec<SpanData>) -> BoxFuture<'_, OTelSdkResult>;
}

impl<E: SpanExporter> DynSpanExporter for E {
    fn export_boxed(&self, batch: Vec<SpanData>) -> BoxFuture<'_, OTelSdkResult> {
        Box::pin(self.export(batch))
    }
}

/// Makes a fresh span exporter (with its own connections) for the blocking paths, which run
/// on a runtime of their own.
pub(crate) type SpanExporterFactory =
    Arc<dyn Fn(&Resource) -> Result<Arc<dyn DynSpanExporter>, Error> + Send + Sync>;

fn otlp_protocol(protocol: Protocol) -> opentelemetry_otlp::Protocol {
    match protocol {
        Protocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        #[cfg(feature = "grpc")]
        Protocol::Grpc => opentelemetry_otlp::Protocol::Grpc,
        #[cfg(not(feature = "grpc"))]
        Protocol::Grpc => opentelemetry_otlp::Protocol::HttpBinary,
    }
}

fn client(
    config: &TelemetryConfig,
    endpoint: &str,
) -> Result<AuthorizingClient<SharedClient>, Error> {
    let client = ExportClient::or_default(config.export_client)
        .map_err(Error::Exporter)?
        .build(
            config.export_timeout,
            needs_tls(endpoint),
            config.certificate.as_deref(),
        )
        .map_err(Error::Exporter)?;
    Ok(AuthorizingClient::new(client, config.export_auth.clone()))
}

/// Whether `endpoint` is reached over TLS (`https://`, in any case). Only then does the export
/// client load a root store (parsing the compiled-in roots, or reading
/// `OTEL_EXPORTER_OTLP_CERTIFICATE`): reading the system's certificates cost about 14 ms of
/// every cold start with a plain-HTTP collector (the extension on loopback, the usual Lambda
/// setup), so a plain-HTTP client reads none.
fn needs_tls(endpoint: &str) -> bool {
    endpoint
        .trim_start()
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

fn compression(config: &TelemetryConfig) -> Option<opentelemetry_otlp::Compression> {
    match config.compression {
        Compression::None => None,
        Compression::Gzip => Some(opentelemetry_otlp::Compression::Gzip),
    }
}

/// The OTLP span exporter described by `config`, retries off (the flush has a budget; retries
/// belong to the collector), resource set.
pub(crate) fn otlp_span_exporter(
    config: &TelemetryConfig,
    resource: &Resource,
) -> Result<Arc<dyn DynSpanExporter>, Error> {
    #[cfg(feature = "grpc")]
    if config.traces_protocol == Protocol::Grpc {
        use opentelemetry_otlp::WithTonicConfig;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(config.traces_endpoint.clone())
            .with_timeout(config.export_timeout)
            .with_retry_policy(RetryPolicy::disabled())
            .build()
            .map_err(|e| Error::Exporter(e.to_string()))?;
        exporter.set_resource(resource);
        return Ok(Arc::new(exporter));
    }
    let mut exporter = http_settings(
        opentelemetry_otlp::SpanExporter::builder().with_http(),
        config,
        &config.traces_endpoint,
        config.traces_protocol,
        &config.traces_headers,
    )?
    .build()
    .map_err(|e| Error::Exporter(e.to_string()))?;
    exporter.set_resource(resource);
    Ok(Arc::new(exporter))
}

/// The OTLP metric exporter described by `config`.
pub(crate) fn otlp_metric_exporter(
    config: &TelemetryConfig,
) -> Result<Arc<dyn DynMetricExporter>, Error> {
    #[cfg(feature = "grpc")]
    if config.metrics_protocol == Protocol::Grpc {
        use opentelemetry_otlp::WithTonicConfig;
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(config.metrics_endpoint.clone())
            .with_timeout(config.export_timeout)
            .with_retry_policy(RetryPolicy::disabled())
            .build()
            .map_err(|e| Error::Exporter(e.to_string()))?;
        return Ok(Arc::new(exporter));
    }
    let exporter = http_settings(
        opentelemetry_otlp::MetricExporter::builder().with_http(),
        config,
        &config.metrics_endpoint,
        config.metrics_protocol,
        &config.metrics_headers,
    )?
    .build()
    .map_err(|e| Error::Exporter(e.to_string()))?;
    Ok(Arc::new(exporter))
}

/// The settings every OTLP/HTTP exporter of this crate shares: endpoint, protocol, timeout,
/// headers, no retries, our HTTP client, compression.
pub(crate) fn http_settings<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    config: &TelemetryConfig,
    endpoint: &str,
    protocol: Protocol,
    headers: &[(String, String)],
) -> Result<B, Error> {
    let builder = builder
        .with_endpoint(endpoint.to_owned())
        .with_protocol(otlp_protocol(protocol))
        .with_timeout(config.export_timeout)
        .with_headers(headers.iter().cloned().collect::<HashMap<_, _>>())
        .with_retry_policy(RetryPolicy::disabled())
        .with_http_client(client(config, endpoint)?);
    Ok(match compression(config) {
        Some(c) => builder.with_compression(c),
        None => builder,
    })
}

/// Makes a fresh metric exporter for the blocking paths.
pub(crate) type MetricExporterFactory =
    Arc<dyn Fn() -> Result<Arc<dyn DynMetricExporter>, Error> + Send + Sync>;

/// An object-safe [`PushMetricExporter`].
pub(crate) trait DynMetricExporter: Send + Sync + Debug {
    fn export_boxed<'a>(&'a self, metrics: &'a ResourceMetrics) -> BoxFuture<'a, OTelSdkResult>;
}

impl<E: PushMetricExporter + Debug> DynMetricExporter for E {
    fn export_boxed<'a>(&'a self, metrics: &'a ResourceMetrics) -> BoxFuture<'a, OTelSdkResult> {
        Box::pin(self.export(metrics))
    }
}

#[cfg(test)]
mod tests {
    use super::needs_tls;

    #[test]
    fn only_https_endpoints_load_a_root_store() {
        for (endpoint, tls) in [
            ("https://otlp.example.com/v1/traces", true),
            ("HTTPS://xray.us-east-1.amazonaws.com/v1/traces", true),
            ("  https://x", true),
            ("http://localhost:4318/v1/traces", false),
            ("http://127.0.0.1:4318", false),
            ("", false),
            ("https:/", false),
            ("é", false),
        ] {
            assert_eq!(needs_tls(endpoint), tls, "{endpoint}");
        }
    }
}
