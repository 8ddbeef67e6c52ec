//! Configuration, resolved once at start-up from the standard `OTEL_*` variables and the
//! project's `FAAS_OTEL_*` ones into a typed struct.
//!
//! Every variable read by faas-core is listed in [`VARIABLES`]. A value that cannot be used is
//! an error naming the variable ([`ConfigError`]), never a panic and never silently ignored.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;

use crate::env::Env;
use crate::error::ConfigError;
use crate::http_privacy::HttpPrivacy;
use crate::pipeline::ExportClient;
use crate::pipeline::export_auth::ExportAuth;
use crate::propagation::Propagation;
use crate::sampling::SamplerConfig;
use crate::strict_percent::percent_decode;

pub use crate::redacted_headers::{REDACTED, RedactedHeaders, redact_header_list};

/// Every environment variable faas-core reads, with a one-line description.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "OTEL_SDK_DISABLED",
        "`true` turns all telemetry off (no-op tracer, nothing exported)",
    ),
    (
        "OTEL_SERVICE_NAME",
        "`service.name`; defaults to the function name",
    ),
    (
        "OTEL_RESOURCE_ATTRIBUTES",
        "extra resource attributes, `k=v,k2=v2` (percent-encoded)",
    ),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "base OTLP endpoint; default `http://localhost:4318`",
    ),
    (
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "full traces URL, used as is",
    ),
    (
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "full metrics URL, used as is",
    ),
    (
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "`http/protobuf` (default), `http/json`, `grpc` (feature `grpc`)",
    ),
    (
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "protocol for traces only",
    ),
    (
        "OTEL_EXPORTER_OTLP_HEADERS",
        "request headers, `k=v,k2=v2` (percent-encoded; values never shown in errors or Debug)",
    ),
    (
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "extra headers for traces only",
    ),
    (
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "per-request export timeout in ms (default 10000); the flush budget caps it",
    ),
    (
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "`none` (default) or `gzip`",
    ),
    (
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "feature `tls`: PEM file of the certificates trusted for an `https://` endpoint, instead of the compiled-in Mozilla roots; read only when an endpoint is `https://`",
    ),
    ("OTEL_TRACES_EXPORTER", "`otlp` (default) or `none`"),
    ("OTEL_METRICS_EXPORTER", "`otlp` (default) or `none`"),
    (
        "OTEL_METRIC_EXPORT_INTERVAL",
        "minimum ms between two metric exports (default 60000)",
    ),
    (
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "spans kept between two flushes (default 2048); more are dropped and counted",
    ),
    (
        "OTEL_LOGS_EXPORTER",
        "feature `logging`: `otlp` also sends `tracing` events as OTLP log records with the spans' flush (default `none`); headers: `OTEL_EXPORTER_OTLP_HEADERS` plus `OTEL_EXPORTER_OTLP_LOGS_HEADERS`",
    ),
    (
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "full logs URL, used as is (default: the base endpoint + `/v1/logs`)",
    ),
    ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "protocol for logs only"),
    (
        "OTEL_BLRP_MAX_QUEUE_SIZE",
        "log records kept between two flushes (default: `OTEL_BSP_MAX_QUEUE_SIZE`); more are dropped and counted",
    ),
    (
        "RUST_LOG",
        "feature `logging`: which events become log lines and records, `level` or `target=level,...` (default `info`)",
    ),
    (
        "OTEL_PROPAGATORS",
        "`tracecontext,baggage` (default), `xray`, `xray-lambda`, `cloudtrace`, `none`",
    ),
    (
        "OTEL_TRACES_SAMPLER",
        "spec sampler names, plus `faas_otel_adaptive`",
    ),
    (
        "OTEL_TRACES_SAMPLER_ARG",
        "ratio, or target traces per second for `faas_otel_adaptive`",
    ),
    (
        "FAAS_OTEL_FLUSH_TIMEOUT_MS",
        "time budget of the flush after each invocation (default 250)",
    ),
    (
        "FAAS_OTEL_SHUTDOWN_TIMEOUT_MS",
        "time budget of the final drain on shutdown (default 1500)",
    ),
    (
        "FAAS_OTEL_SHUTDOWN_GRACE_MS",
        "Azure, Cloud Run: how long requests in flight may still run after the shutdown signal before the server gives up on them and drains (default 5000)",
    ),
    (
        "FAAS_OTEL_EXPORT_BACKOFF_MS",
        "after a refused, failed or stalled export, ms without any attempt (default 1000, doubling; 0: off)",
    ),
    (
        "FAAS_OTEL_EXPORT_BACKOFF_MAX_MS",
        "longest back-off between two export attempts in ms (default 30000)",
    ),
    (
        "FAAS_OTEL_TIMEOUT_MARGIN_MS",
        "the invocation watchdog fires this long before the deadline (default: flush budget + 50)",
    ),
    (
        "FAAS_OTEL_INVOCATION_TIMEOUT_MS",
        "deadline of each invocation where the platform sends none (Azure, Cloud Run); unset: no watchdog",
    ),
    (
        "FAAS_OTEL_PRICE_GB_SECOND",
        "override: USD per GB-second (x86_64)",
    ),
    (
        "FAAS_OTEL_PRICE_GB_SECOND_ARM64",
        "override: USD per GB-second (arm64)",
    ),
    (
        "FAAS_OTEL_PRICE_VCPU_SECOND",
        "override: USD per vCPU-second",
    ),
    ("FAAS_OTEL_PRICE_REQUEST", "override: USD per request"),
    (
        "FAAS_OTEL_BILLING_GRANULARITY_MS",
        "override: billing granularity in ms",
    ),
];

/// Default budget of the flush after each invocation.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_millis(250);
/// Default budget of the final drain at shutdown (Lambda gives extensions about 2 s).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(1500);
/// Default OTLP/HTTP endpoint: where the project's Lambda extension listens.
pub const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";
/// Default OTLP/gRPC endpoint.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";

/// OTLP wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// `http/protobuf`, the default.
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
    /// `grpc` (cargo feature `grpc`).
    Grpc,
}

impl Protocol {
    pub(crate) fn parse(variable: &str, value: &str) -> Result<Self, ConfigError> {
        match value.trim() {
            "http/protobuf" => Ok(Self::HttpProtobuf),
            "http/json" => Ok(Self::HttpJson),
            "grpc" if cfg!(feature = "grpc") => Ok(Self::Grpc),
            "grpc" => Err(ConfigError::new(
                variable,
                value,
                "grpc needs faas-core's cargo feature `grpc`; use http/protobuf or http/json",
            )),
            _ => Err(ConfigError::new(
                variable,
                value,
                "expected one of http/protobuf, http/json, grpc",
            )),
        }
    }
}

/// Payload compression for OTLP requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// No compression (default; cheapest for a collector on localhost).
    None,
    /// gzip.
    Gzip,
}

/// Everything the telemetry pipeline needs, resolved once.
///
/// Its `Debug` shows the export headers' names only ([`RedactedHeaders`]): their values hold
/// credentials.
#[derive(Clone)]
pub struct TelemetryConfig {
    /// `OTEL_SDK_DISABLED=true`: build no-op providers, export nothing.
    pub sdk_disabled: bool,
    /// `OTEL_SERVICE_NAME`.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, in order.
    pub resource_attributes: Vec<KeyValue>,
    /// Whether spans are exported at all (`OTEL_TRACES_EXPORTER`).
    pub traces_enabled: bool,
    /// Whether metrics are exported at all (`OTEL_METRICS_EXPORTER`).
    pub metrics_enabled: bool,
    /// Full URL spans are sent to.
    pub traces_endpoint: String,
    /// Full URL metrics are sent to.
    pub metrics_endpoint: String,
    /// Protocol for spans.
    pub traces_protocol: Protocol,
    /// Protocol for metrics.
    pub metrics_protocol: Protocol,
    /// Headers sent with every span export.
    pub traces_headers: Vec<(String, String)>,
    /// Headers sent with every metric export.
    pub metrics_headers: Vec<(String, String)>,
    /// Per-request export timeout.
    pub export_timeout: Duration,
    /// Payload compression.
    pub compression: Compression,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: the PEM file of the certificates an `https://` export
    /// trusts instead of the compiled-in roots (feature `tls`). Only the path: the file is read
    /// when an `https://` exporter is built.
    pub certificate: Option<PathBuf>,
    /// Minimum time between two metric exports.
    pub metric_export_interval: Duration,
    /// Spans kept between two flushes.
    pub max_queue_size: usize,
    /// Budget of the flush after each invocation.
    pub flush_timeout: Duration,
    /// Budget of the final drain.
    pub shutdown_timeout: Duration,
    /// Propagators from `OTEL_PROPAGATORS`.
    pub propagation: Propagation,
    /// Sampler from `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`.
    pub sampler: SamplerConfig,
    /// What HTTP instrumentation never records, on every provider: `FAAS_OTEL_DENY_HEADERS`
    /// and `FAAS_OTEL_DENY_QUERY_PARAMS` on top of the built-in lists.
    pub http_privacy: HttpPrivacy,
    /// Authorizes every OTLP/HTTP request (SigV4, a bearer token); set by the telemetry
    /// builder's `with_export_auth`, never read from the environment here.
    pub export_auth: Option<Arc<dyn ExportAuth>>,
    /// The request body type of the OTLP/HTTP export client; set by the telemetry builder's
    /// `with_export_client` (a provider whose runtime links hyper's client already), never
    /// read from the environment. `None`: faas-core's default (feature `default-client`).
    pub export_client: Option<ExportClient>,
}

impl TelemetryConfig {
    /// Reads the process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_env(&Env::process())
    }

    /// Reads the given variables.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let sdk_disabled = parse_bool(env, "OTEL_SDK_DISABLED")?.unwrap_or(false);
        let protocol = match env.get("OTEL_EXPORTER_OTLP_PROTOCOL") {
            Some(v) => Protocol::parse("OTEL_EXPORTER_OTLP_PROTOCOL", &v)?,
            None => Protocol::HttpProtobuf,
        };
        let signal_protocol = |var: &str| match env.get(var) {
            Some(v) => Protocol::parse(var, &v),
            None => Ok(protocol),
        };
        let traces_protocol = signal_protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")?;
        let metrics_protocol = signal_protocol("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")?;

        let traces_endpoint = signal_endpoint(
            env,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "/v1/traces",
            traces_protocol,
        )?;
        let metrics_endpoint = signal_endpoint(
            env,
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "/v1/metrics",
            metrics_protocol,
        )?;

        let common_headers = parse_headers(env, "OTEL_EXPORTER_OTLP_HEADERS")?;
        let mut traces_headers = common_headers.clone();
        traces_headers.extend(parse_headers(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS")?);
        let mut metrics_headers = common_headers;
        metrics_headers.extend(parse_headers(env, "OTEL_EXPORTER_OTLP_METRICS_HEADERS")?);

        let compression = match env.get("OTEL_EXPORTER_OTLP_COMPRESSION").as_deref() {
            None | Some("none") => Compression::None,
            Some("gzip") => Compression::Gzip,
            Some(other) => {
                return Err(ConfigError::new(
                    "OTEL_EXPORTER_OTLP_COMPRESSION",
                    other,
                    "expected none or gzip",
                ));
            }
        };

        let resource_attributes = match env.get("OTEL_RESOURCE_ATTRIBUTES") {
            Some(v) => parse_key_values("OTEL_RESOURCE_ATTRIBUTES", &v)?
                .into_iter()
                .map(|(k, v)| KeyValue::new(k, v))
                .collect(),
            None => Vec::new(),
        };

        Ok(Self {
            sdk_disabled,
            service_name: env.get("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()),
            resource_attributes,
            traces_enabled: parse_exporter(env, "OTEL_TRACES_EXPORTER")?,
            metrics_enabled: parse_exporter(env, "OTEL_METRICS_EXPORTER")?,
            traces_endpoint,
            metrics_endpoint,
            traces_protocol,
            metrics_protocol,
            traces_headers,
            metrics_headers,
            export_timeout: parse_millis(env, "OTEL_EXPORTER_OTLP_TIMEOUT")?
                .unwrap_or(Duration::from_secs(10)),
            compression,
            certificate: env
                .get("OTEL_EXPORTER_OTLP_CERTIFICATE")
                .map(|path| path.trim().to_owned())
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
            metric_export_interval: parse_millis(env, "OTEL_METRIC_EXPORT_INTERVAL")?
                .unwrap_or(Duration::from_secs(60)),
            max_queue_size: parse_count(env, "OTEL_BSP_MAX_QUEUE_SIZE")?.unwrap_or(2048),
            flush_timeout: parse_millis(env, "FAAS_OTEL_FLUSH_TIMEOUT_MS")?
                .unwrap_or(DEFAULT_FLUSH_TIMEOUT),
            shutdown_timeout: parse_millis(env, "FAAS_OTEL_SHUTDOWN_TIMEOUT_MS")?
                .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            propagation: Propagation::from_env(env)?,
            sampler: SamplerConfig::from_env(env)?,
            http_privacy: HttpPrivacy::from_env(env),
            export_auth: None,
            export_client: None,
        })
    }
}

impl std::fmt::Debug for TelemetryConfig {
    /// Every field, with the export headers' values redacted and the export auth by presence.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryConfig")
            .field("sdk_disabled", &self.sdk_disabled)
            .field("service_name", &self.service_name)
            .field("resource_attributes", &self.resource_attributes)
            .field("traces_enabled", &self.traces_enabled)
            .field("metrics_enabled", &self.metrics_enabled)
            .field("traces_endpoint", &self.traces_endpoint)
            .field("metrics_endpoint", &self.metrics_endpoint)
            .field("traces_protocol", &self.traces_protocol)
            .field("metrics_protocol", &self.metrics_protocol)
            .field("traces_headers", &RedactedHeaders(&self.traces_headers))
            .field("metrics_headers", &RedactedHeaders(&self.metrics_headers))
            .field("export_timeout", &self.export_timeout)
            .field("compression", &self.compression)
            .field("certificate", &self.certificate)
            .field("metric_export_interval", &self.metric_export_interval)
            .field("max_queue_size", &self.max_queue_size)
            .field("flush_timeout", &self.flush_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("propagation", &self.propagation)
            .field("sampler", &self.sampler)
            .field("http_privacy", &self.http_privacy)
            .field("export_auth", &self.export_auth.as_ref().map(|_| REDACTED))
            .field("export_client", &self.export_client)
            .finish_non_exhaustive()
    }
}

fn parse_bool(env: &Env, variable: &str) -> Result<Option<bool>, ConfigError> {
    match env.get(variable) {
        None => Ok(None),
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(ConfigError::new(variable, v, "expected true or false")),
        },
    }
}

fn parse_exporter(env: &Env, variable: &str) -> Result<bool, ConfigError> {
    match env.get(variable) {
        None => Ok(true),
        Some(v) => match v.trim() {
            "otlp" => Ok(true),
            "none" => Ok(false),
            _ => Err(ConfigError::new(variable, v, "expected otlp or none")),
        },
    }
}

pub(crate) fn parse_millis(env: &Env, variable: &str) -> Result<Option<Duration>, ConfigError> {
    match env.get(variable) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(ms) if ms <= 3_600_000 => Ok(Some(Duration::from_millis(ms))),
            Ok(_) => Err(ConfigError::new(
                variable,
                v,
                "milliseconds must be at most 3600000 (one hour)",
            )),
            Err(_) => Err(ConfigError::new(
                variable,
                v,
                "expected a whole number of milliseconds",
            )),
        },
    }
}

fn parse_count(env: &Env, variable: &str) -> Result<Option<usize>, ConfigError> {
    match env.get(variable) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(ConfigError::new(variable, v, "expected a positive integer")),
        },
    }
}

pub(crate) fn signal_endpoint(
    env: &Env,
    signal_variable: &str,
    path: &str,
    protocol: Protocol,
) -> Result<String, ConfigError> {
    if let Some(url) = env.get(signal_variable) {
        validate_url(signal_variable, &url)?;
        return Ok(url.trim().to_owned());
    }
    let (variable, base) = match env.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Some(base) => ("OTEL_EXPORTER_OTLP_ENDPOINT", base),
        None if protocol == Protocol::Grpc => ("default", DEFAULT_GRPC_ENDPOINT.to_owned()),
        None => ("default", DEFAULT_HTTP_ENDPOINT.to_owned()),
    };
    validate_url(variable, &base)?;
    if protocol == Protocol::Grpc {
        return Ok(base.trim().to_owned());
    }
    Ok(format!("{}{path}", base.trim().trim_end_matches('/')))
}

fn validate_url(variable: &str, url: &str) -> Result<(), ConfigError> {
    let uri: http::Uri = url
        .trim()
        .parse()
        .map_err(|e| ConfigError::new(variable, url, format!("not a URL: {e}")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") if cfg!(feature = "tls") => {}
        Some("https") => {
            return Err(ConfigError::new(
                variable,
                url,
                "https needs faas-core's cargo feature `tls` (or send to the local extension over http)",
            ));
        }
        _ => {
            return Err(ConfigError::new(
                variable,
                url,
                "expected an absolute http:// or https:// URL",
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(ConfigError::new(variable, url, "the URL has no host"));
    }
    Ok(())
}

pub(crate) fn parse_headers(
    env: &Env,
    variable: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    match env.get(variable) {
        Some(value) => crate::redacted_headers::parse_header_list(variable, &value),
        None => Ok(Vec::new()),
    }
}

/// Parses a W3C-baggage-style list `key1=value1,key2=value2` with percent-encoded values, as
/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS` use.
///
/// Blank entries are skipped; an entry without `=`, with an empty key or a bad percent escape
/// is an error naming `variable`.
pub fn parse_key_values(variable: &str, value: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for entry in value.split(',') {
        if entry.trim().is_empty() {
            continue;
        }
        let Some((key, val)) = entry.split_once('=') else {
            return Err(ConfigError::new(
                variable,
                value,
                format!("entry {:?} has no '='; expected key=value", entry.trim()),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(ConfigError::new(
                variable,
                value,
                format!("entry {:?} has an empty key", entry.trim()),
            ));
        }
        let decoded = percent_decode(val.trim()).ok_or_else(|| {
            ConfigError::new(
                variable,
                value,
                format!("the value of {key:?} has an invalid percent escape"),
            )
        })?;
        out.push((key.to_owned(), decoded));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
        TelemetryConfig::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_point_at_the_local_extension() {
        let c = config(&[]).unwrap();
        assert_eq!(c.traces_endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(c.metrics_endpoint, "http://localhost:4318/v1/metrics");
        assert_eq!(c.traces_protocol, Protocol::HttpProtobuf);
        assert_eq!(c.flush_timeout, Duration::from_millis(250));
        assert_eq!(c.max_queue_size, 2048);
        assert!(!c.sdk_disabled && c.traces_enabled && c.metrics_enabled);
        assert_eq!(c.propagation.names(), ["tracecontext", "baggage"]);
    }

    #[test]
    fn signal_endpoints_are_used_as_is_and_base_gets_paths() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/custom"),
        ])
        .unwrap();
        assert_eq!(c.traces_endpoint, "http://collector:4318/v1/traces");
        assert_eq!(c.metrics_endpoint, "http://m:9/custom");
    }

    #[test]
    fn privacy_lists_are_part_of_the_config() {
        let c = config(&[
            ("FAAS_OTEL_DENY_HEADERS", "X-Tenant"),
            ("FAAS_OTEL_DENY_QUERY_PARAMS", "session_id,Email"),
        ])
        .unwrap();
        assert_eq!(c.http_privacy.denied_headers, ["x-tenant"]);
        assert_eq!(c.http_privacy.denied_query_params, ["session_id", "email"]);
        assert_eq!(config(&[]).unwrap().http_privacy, HttpPrivacy::default());
    }

    proptest::proptest! {
        #[test]
        fn key_value_lists_never_panic_and_round_trip_encoded_values(
            raw in "[ -~]{0,48}",
            value in "[ -~]{0,16}",
        ) {
            let _ = parse_key_values("V", &raw);
            let encoded: String = percent_encoding::utf8_percent_encode(
                &value,
                percent_encoding::NON_ALPHANUMERIC,
            )
            .collect();
            let parsed = parse_key_values("V", &format!("k={encoded}")).unwrap();
            proptest::prop_assert_eq!(parsed, vec![("k".to_owned(), value.clone())]);
        }
    }

    #[test]
    fn headers_and_resource_attributes_are_percent_decoded() {
        let c = config(&[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-api-key=abc%3D%3D, tenant=t1",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-trace=1"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,team=a%2Cb",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.traces_headers,
            vec![
                ("x-api-key".to_owned(), "abc==".to_owned()),
                ("tenant".to_owned(), "t1".to_owned()),
                ("x-trace".to_owned(), "1".to_owned()),
            ]
        );
        assert_eq!(c.metrics_headers.len(), 2);
        assert_eq!(
            c.resource_attributes,
            vec![
                KeyValue::new("deployment.environment", "prod"),
                KeyValue::new("team", "a,b"),
            ]
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases: &[(&str, &str)] = &[
            ("OTEL_SDK_DISABLED", "yes"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://x/v1/traces"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
            ("OTEL_RESOURCE_ATTRIBUTES", "=x"),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("FAAS_OTEL_FLUSH_TIMEOUT_MS", "-1"),
            ("FAAS_OTEL_FLUSH_TIMEOUT_MS", "99999999999"),
        ];
        for (variable, value) in cases {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(&err.variable, variable, "{value}");
            assert_eq!(&err.value, value);
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn bad_header_lists_name_their_variable_but_never_show_a_value() {
        const SECRET: &str = "Sk-8f14e45fceea167a";
        // (variable, value, the value as the error shows it)
        let cases: &[(&str, String, &str)] = &[
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue".into(), "<redacted>"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "bad header=1".into(),
                "<redacted>",
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("x-api-key={SECRET},{SECRET}"),
                "x-api-key=<redacted>,<redacted>",
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                format!("authorization=Bearer%20{SECRET}%zz"),
                "authorization=<redacted>",
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                format!("Authorization: Bearer {SECRET}"),
                "<redacted>",
            ),
        ];
        for (variable, value, shown) in cases {
            let err = config(&[(variable, value.as_str())]).unwrap_err();
            assert_eq!(&err.variable, variable, "{value}");
            assert_eq!(&err.value, shown, "{value}");
            let texts = [
                err.to_string(),
                format!("{err:?}"),
                crate::Error::from(err.clone()).to_string(),
                format!(
                    "{:?}",
                    crate::ServeError::from(crate::Error::from(err.clone()))
                ),
            ];
            for text in texts {
                assert!(text.contains(variable), "{text}");
                assert!(!text.contains(SECRET), "{text}");
                assert!(
                    !text.contains("novalue") && !text.contains("bad header"),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn debug_shows_header_names_never_values() {
        const SECRET: &str = "Sk-8f14e45fceea167a";
        let headers: Vec<(&str, String)> = VARIABLES
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| name.ends_with("_HEADERS") && name.starts_with("OTEL_EXPORTER_OTLP"))
            .map(|name| (name, format!("x-key-{}={SECRET}", name.len())))
            .collect();
        assert!(headers.len() >= 2, "{headers:?}");
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let c = config(&pairs).unwrap();
        assert!(c.traces_headers.iter().all(|(_, v)| v == SECRET));
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        for (_, value) in &headers {
            let name = value.split('=').next().unwrap();
            assert!(shown.contains(name), "the names stay visible: {shown}");
        }
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn the_certificate_variable_is_a_trimmed_path_and_empty_means_unset() {
        assert_eq!(config(&[]).unwrap().certificate, None);
        let blank = config(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", "  ")]).unwrap();
        assert_eq!(blank.certificate, None);
        let set = config(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", " /opt/ca.pem\n")]).unwrap();
        assert_eq!(set.certificate, Some(PathBuf::from("/opt/ca.pem")));
        assert!(format!("{set:?}").contains("/opt/ca.pem"));
    }

    #[test]
    fn grpc_and_https_need_their_features() {
        let grpc = config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
        assert_eq!(grpc.is_ok(), cfg!(feature = "grpc"));
        let https = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://vendor.example")]);
        assert_eq!(https.is_ok(), cfg!(feature = "tls"));
    }

    #[test]
    fn disabled_sdk_and_json_protocol_parse() {
        let c = config(&[
            ("OTEL_SDK_DISABLED", "TRUE"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ])
        .unwrap();
        assert!(c.sdk_disabled);
        assert_eq!(c.traces_protocol, Protocol::HttpJson);
        assert!(!c.metrics_enabled);
    }
}
