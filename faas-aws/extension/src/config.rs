//! The extension's settings, from `FAAS_OTEL_EXTENSION_*` variables.
//!
//! On Lambda a function and its extensions share one set of environment variables. The
//! function exports with the standard `OTEL_EXPORTER_OTLP_*` variables (default
//! `http://localhost:4318`: this extension), so the extension's own upstream is configured by
//! its own variables, listed in [`VARIABLES`].

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use faas_core::ConfigError;
use faas_core::env::Env;

use crate::flush::{FLUSH_VARIABLE, FlushStrategy};

/// Every variable the extension reads: `(name, default, meaning)`.
///
/// The `FAAS_OTEL_EXTENSION_KEEP*` names are the tail-sampling settings; they keep the name
/// they had when tail sampling was called "keep rules", for compatibility.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "FAAS_OTEL_EXTENSION_ENDPOINT",
        "(required)",
        "upstream OTLP/HTTP base URL; /v1/traces, /v1/metrics, /v1/logs are appended",
    ),
    (
        "FAAS_OTEL_EXTENSION_PROTOCOL",
        "http/protobuf",
        "upstream encoding: http/protobuf or http/json",
    ),
    (
        "FAAS_OTEL_EXTENSION_HEADERS",
        "none",
        "upstream request headers, k=v,k2=v2, percent-encoded (never logged)",
    ),
    (
        "FAAS_OTEL_EXTENSION_AUTH",
        "none",
        "upstream request signing: none or sigv4 (AWS SigV4 with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; feature sigv4)",
    ),
    (
        "FAAS_OTEL_EXTENSION_AUTH_REGION",
        "from the endpoint's host",
        "SigV4 signing region (xray.<region>.amazonaws.com gives <region>)",
    ),
    (
        "FAAS_OTEL_EXTENSION_AUTH_SERVICE",
        "from the endpoint's host",
        "SigV4 signing service (xray for X-Ray traces, logs for CloudWatch Logs)",
    ),
    (
        "FAAS_OTEL_EXTENSION_COMPRESSION",
        "gzip",
        "upstream compression: gzip or none",
    ),
    (
        "FAAS_OTEL_EXTENSION_LISTEN",
        "127.0.0.1:4318",
        "OTLP/HTTP receiver address; loopback only",
    ),
    (
        "FAAS_OTEL_EXTENSION_GRPC_LISTEN",
        "127.0.0.1:4317",
        "OTLP/gRPC receiver address (feature grpc); loopback only",
    ),
    (
        "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN",
        "sandbox.localdomain:4325",
        "Telemetry API listener (the platform posts events there); loopback only (sandbox.localdomain may also be link-local)",
    ),
    (
        "FAAS_OTEL_EXTENSION_LOGS",
        "function",
        "log streams from the Telemetry API forwarded as OTLP log records: function, extension, function,extension, or off; unset: function, or off when the function sends its own records (OTEL_LOGS_EXPORTER=otlp)",
    ),
    (
        "FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES",
        "33554432",
        "most bytes held (protobuf as received, plus a fixed overhead per request); beyond it data is dropped and counted",
    ),
    (
        "FAAS_OTEL_EXTENSION_MAX_BODY_BYTES",
        "4194304",
        "largest accepted request body, after decompression",
    ),
    (
        "FAAS_OTEL_EXTENSION_WAIT_MS",
        "200",
        "longest wait after INVOKE for the function's data before exporting",
    ),
    (
        "FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS",
        "2000",
        "budget of one export after an invocation (retries included)",
    ),
    (
        "FAAS_OTEL_EXTENSION_FLUSH",
        "adaptive",
        "when to export: end (after every invocation, billed), periodic (during the next invocation and on the interval, drained at SHUTDOWN), adaptive (end while needed, then periodic)",
    ),
    (
        "FAAS_OTEL_EXTENSION_EXPORT_INTERVAL_MS",
        "1000",
        "periodic and adaptive: during a long invocation, at most this long between two background exports",
    ),
    (
        "FAAS_OTEL_EXTENSION_ADAPTIVE_GAP_MS",
        "60000",
        "adaptive: exports at the end until 10 invocations in a row each came within this long of the previous one",
    ),
    (
        "FAAS_OTEL_EXTENSION_PERIODIC_ABOVE",
        "10",
        "adaptive: above this many invocations per second (over 10 s) exports go to the background too (back below half of it)",
    ),
    (
        "FAAS_OTEL_EXTENSION_KEEP",
        "all",
        "tail sampling: all (keep everything), or decide: keep errors, timeouts, cold starts, slow traces, sample the rest",
    ),
    (
        "FAAS_OTEL_EXTENSION_KEEP_SLOW_MS",
        "1000",
        "tail sampling: a trace at least this long is kept",
    ),
    (
        "FAAS_OTEL_EXTENSION_KEEP_RATE",
        "1",
        "tail sampling: target traces per second for the rest",
    ),
];

/// How the upstream is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `http/protobuf`.
    Protobuf,
    /// `http/json`.
    Json,
}

/// Which Telemetry API log streams become OTLP log records (`FAAS_OTEL_EXTENSION_LOGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogStreams {
    /// The function's output (`function`).
    pub(crate) function: bool,
    /// The extensions' output (`extension`).
    pub(crate) extension: bool,
}

impl LogStreams {
    /// Reads `function`, `extension`, a comma-separated list of both, or `off`.
    fn parse(value: &str) -> Result<Self, ConfigError> {
        let mut streams = Self {
            function: false,
            extension: false,
        };
        let value = value.trim();
        if value.eq_ignore_ascii_case("off") || value.eq_ignore_ascii_case("none") {
            return Ok(streams);
        }
        for part in value.split(',').map(str::trim) {
            match part.to_ascii_lowercase().as_str() {
                "function" => streams.function = true,
                "extension" => streams.extension = true,
                _ => {
                    return Err(ConfigError::new(
                        "FAAS_OTEL_EXTENSION_LOGS",
                        value,
                        "expected function, extension, function,extension or off",
                    ));
                }
            }
        }
        Ok(streams)
    }
}

/// Whether the Telemetry API listener may listen on `addr`, configured with `host`: loopback,
/// or the sandbox's own link-local address when the host is Lambda's `sandbox.localdomain`
/// (the name the platform delivers to; a link-local address never leaves the machine).
fn telemetry_listen_allowed(addr: &SocketAddr, host: &str) -> bool {
    let link_local = match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.is_link_local(),
        std::net::IpAddr::V6(ip) => (ip.segments()[0] & 0xffc0) == 0xfe80,
    };
    addr.ip().is_loopback() || (host == "sandbox.localdomain" && link_local)
}

/// The extension's settings. Its `Debug` shows the upstream headers' names only.
#[derive(Clone)]
pub(crate) struct ExtensionConfig {
    /// Upstream base URL without a trailing `/`.
    pub(crate) endpoint: String,
    /// Upstream encoding.
    pub(crate) protocol: Protocol,
    /// Upstream headers (names lower-cased).
    pub(crate) headers: Vec<(String, String)>,
    /// Signs every upstream request (`FAAS_OTEL_EXTENSION_AUTH=sigv4`); never printed.
    pub(crate) sigv4: Option<std::sync::Arc<crate::upstream_auth::Signer>>,
    /// Gzip upstream bodies.
    pub(crate) gzip: bool,
    /// The OTLP receiver's address (loopback).
    pub(crate) listen: SocketAddr,
    /// The OTLP/gRPC receiver's address (loopback; validated in every build, used with the
    /// feature `grpc`).
    #[cfg(feature = "grpc")]
    pub(crate) grpc_listen: SocketAddr,
    /// The Telemetry API listener's address, and the host name to subscribe with.
    pub(crate) telemetry_listen: (SocketAddr, String),
    /// Memory cap in bytes.
    pub(crate) memory_limit: usize,
    /// Largest body in bytes.
    pub(crate) max_body: usize,
    /// Longest wait for the function's data after INVOKE.
    pub(crate) wait: Duration,
    /// Budget of one export.
    pub(crate) export_timeout: Duration,
    /// Periodic mode's interval.
    pub(crate) export_interval: Duration,
    /// Invocations per second that turn periodic mode on.
    pub(crate) periodic_above: f64,
    /// When to export (`FAAS_OTEL_EXTENSION_FLUSH`).
    pub(crate) flush: FlushStrategy,
    /// Adaptive: the longest gap between invocations that still counts as steady.
    pub(crate) adaptive_gap: Duration,
    /// The Telemetry API log streams forwarded as log records.
    pub(crate) logs: LogStreams,
}

impl std::fmt::Debug for ExtensionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionConfig")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field(
                "headers",
                &faas_core::config::RedactedHeaders(&self.headers),
            )
            .field("gzip", &self.gzip)
            .field("listen", &self.listen)
            .field("telemetry_listen", &self.telemetry_listen)
            .field("memory_limit", &self.memory_limit)
            .field("flush", &self.flush)
            .finish_non_exhaustive()
    }
}

fn parse<T: std::str::FromStr>(
    env: &Env,
    name: &str,
    default: T,
    what: &str,
) -> Result<T, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| ConfigError::new(name, value, what)),
    }
}

/// Parses `k=v,k2=v2` (percent-encoded) headers with faas-core's OTLP header syntax; names are
/// lower-cased. Errors never repeat the value: it holds credentials.
pub(crate) fn parse_headers(name: &str, value: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let redacted = |reason: &str| ConfigError::new(name, "<redacted>", reason);
    let pairs = faas_core::config::parse_key_values(name, value)
        .map_err(|_| redacted("expected k=v pairs separated by commas, values percent-encoded"))?;
    pairs
        .into_iter()
        .map(|(key, val)| {
            let key = key.to_ascii_lowercase();
            if http::HeaderName::from_bytes(key.as_bytes()).is_err()
                || http::HeaderValue::from_str(&val).is_err()
            {
                return Err(redacted("a header name or value is not valid HTTP"));
            }
            Ok((key, val))
        })
        .collect()
}

fn address(env: &Env, name: &str, default: &str) -> Result<(SocketAddr, String), ConfigError> {
    let value = env
        .get(name)
        .unwrap_or_else(|| default.to_owned())
        .trim()
        .to_owned();
    let host = value
        .rsplit_once(':')
        .map(|(h, _)| h.trim_matches(['[', ']']).to_owned())
        .unwrap_or_default();
    let resolved = value
        .to_socket_addrs()
        .ok()
        .and_then(|mut all| all.next())
        // `sandbox.localdomain` only resolves inside Lambda; elsewhere listen on loopback.
        .or_else(|| {
            (host == "sandbox.localdomain")
                .then(|| value.rsplit_once(':')?.1.parse::<u16>().ok())
                .flatten()
                .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
        });
    match resolved {
        Some(addr) => Ok((addr, host)),
        None => Err(ConfigError::new(name, &value, "expected host:port")),
    }
}

impl ExtensionConfig {
    /// Reads the settings from `env`.
    pub(crate) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let endpoint = env
            .get("FAAS_OTEL_EXTENSION_ENDPOINT")
            .map(|e| e.trim().trim_end_matches('/').to_owned())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                ConfigError::new(
                    "FAAS_OTEL_EXTENSION_ENDPOINT",
                    "",
                    "the upstream OTLP/HTTP endpoint the extension forwards to is required",
                )
            })?;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(ConfigError::new(
                "FAAS_OTEL_EXTENSION_ENDPOINT",
                &endpoint,
                "expected an http:// or https:// URL",
            ));
        }
        let protocol = match env
            .get("FAAS_OTEL_EXTENSION_PROTOCOL")
            .as_deref()
            .map(str::trim)
        {
            None | Some("http/protobuf") => Protocol::Protobuf,
            Some("http/json") => Protocol::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "FAAS_OTEL_EXTENSION_PROTOCOL",
                    other,
                    "expected http/protobuf or http/json",
                ));
            }
        };
        let gzip = match env
            .get("FAAS_OTEL_EXTENSION_COMPRESSION")
            .as_deref()
            .map(str::trim)
        {
            None | Some("gzip") => true,
            Some("none") => false,
            Some(other) => {
                return Err(ConfigError::new(
                    "FAAS_OTEL_EXTENSION_COMPRESSION",
                    other,
                    "expected gzip or none",
                ));
            }
        };
        let headers = match env.get("FAAS_OTEL_EXTENSION_HEADERS") {
            Some(value) => parse_headers("FAAS_OTEL_EXTENSION_HEADERS", &value)?,
            None => Vec::new(),
        };
        let sigv4 = crate::upstream_auth::signer_from_env(env, &endpoint)?;
        let (listen, _) = address(env, "FAAS_OTEL_EXTENSION_LISTEN", "127.0.0.1:4318")?;
        if !listen.ip().is_loopback() {
            return Err(ConfigError::new(
                "FAAS_OTEL_EXTENSION_LISTEN",
                listen.to_string(),
                "the OTLP receiver listens on loopback only (127.0.0.1 or ::1)",
            ));
        }
        let (grpc_listen, _) = address(env, "FAAS_OTEL_EXTENSION_GRPC_LISTEN", "127.0.0.1:4317")?;
        if !grpc_listen.ip().is_loopback() {
            return Err(ConfigError::new(
                "FAAS_OTEL_EXTENSION_GRPC_LISTEN",
                grpc_listen.to_string(),
                "the OTLP/gRPC receiver listens on loopback only (127.0.0.1 or ::1)",
            ));
        }
        let telemetry_listen = address(
            env,
            "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN",
            "sandbox.localdomain:4325",
        )?;
        if !telemetry_listen_allowed(&telemetry_listen.0, &telemetry_listen.1) {
            return Err(ConfigError::new(
                "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN",
                telemetry_listen.0.to_string(),
                "the Telemetry API listener listens on loopback only (127.0.0.1, ::1, or sandbox.localdomain:PORT)",
            ));
        }
        let logs = match env.get("FAAS_OTEL_EXTENSION_LOGS") {
            Some(value) => LogStreams::parse(&value)?,
            // The function sends its own records with `OTEL_LOGS_EXPORTER=otlp` (faas-core's
            // `logging`): forwarding its Telemetry API lines too would send each line twice.
            None => LogStreams {
                function: !env
                    .get("OTEL_LOGS_EXPORTER")
                    .is_some_and(|v| v.split(',').any(|e| e.trim() == "otlp")),
                extension: false,
            },
        };
        let ms = |name: &str, default: u64| {
            parse(
                env,
                name,
                default,
                "expected a whole number of milliseconds",
            )
            .map(Duration::from_millis)
        };
        Ok(Self {
            endpoint,
            protocol,
            headers,
            sigv4,
            gzip,
            listen,
            #[cfg(feature = "grpc")]
            grpc_listen,
            telemetry_listen,
            memory_limit: parse(
                env,
                "FAAS_OTEL_EXTENSION_MEMORY_LIMIT_BYTES",
                32 << 20,
                "expected a number of bytes",
            )?,
            max_body: parse(
                env,
                "FAAS_OTEL_EXTENSION_MAX_BODY_BYTES",
                4 << 20,
                "expected a number of bytes",
            )?,
            wait: ms("FAAS_OTEL_EXTENSION_WAIT_MS", 200)?,
            export_timeout: ms("FAAS_OTEL_EXTENSION_EXPORT_TIMEOUT_MS", 2000)?,
            export_interval: ms("FAAS_OTEL_EXTENSION_EXPORT_INTERVAL_MS", 1000)?,
            periodic_above: parse(
                env,
                "FAAS_OTEL_EXTENSION_PERIODIC_ABOVE",
                10.0,
                "expected invocations per second",
            )?,
            flush: FlushStrategy::parse(env.get(FLUSH_VARIABLE).as_deref())?,
            adaptive_gap: ms("FAAS_OTEL_EXTENSION_ADAPTIVE_GAP_MS", 60_000)?,
            logs,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_variable() {
        let env = Env::from_pairs([("FAAS_OTEL_EXTENSION_ENDPOINT", "https://otlp.example.com/")]);
        let config = ExtensionConfig::from_env(&env).unwrap();
        assert_eq!(config.endpoint, "https://otlp.example.com");
        assert_eq!(config.listen, "127.0.0.1:4318".parse().unwrap());
        assert_eq!(config.telemetry_listen.1, "sandbox.localdomain");
        assert!(config.gzip);
        assert_eq!(config.memory_limit, 32 << 20);

        let missing = ExtensionConfig::from_env(&Env::from_pairs([("X", "1")])).unwrap_err();
        assert_eq!(missing.variable, "FAAS_OTEL_EXTENSION_ENDPOINT");
        let public = ExtensionConfig::from_env(&Env::from_pairs([
            ("FAAS_OTEL_EXTENSION_ENDPOINT", "http://x"),
            ("FAAS_OTEL_EXTENSION_LISTEN", "0.0.0.0:4318"),
        ]))
        .unwrap_err();
        assert_eq!(public.variable, "FAAS_OTEL_EXTENSION_LISTEN");
    }

    #[test]
    fn the_telemetry_listener_is_loopback_only() {
        let with = |value: &str| {
            ExtensionConfig::from_env(&Env::from_pairs([
                ("FAAS_OTEL_EXTENSION_ENDPOINT", "http://x"),
                ("FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN", value),
            ]))
        };
        for refused in [
            "0.0.0.0:4325",
            "10.1.2.3:4325",
            "[::]:4325",
            "192.168.0.1:0",
        ] {
            let error = with(refused).unwrap_err();
            assert_eq!(
                error.variable, "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN",
                "{refused}"
            );
            assert!(error.to_string().contains("loopback only"), "{error}");
        }
        for accepted in [
            "127.0.0.1:4325",
            "[::1]:0",
            "localhost:0",
            "sandbox.localdomain:0",
        ] {
            let config = with(accepted).unwrap();
            assert!(config.telemetry_listen.0.ip().is_loopback(), "{accepted}");
        }
        let sandbox: SocketAddr = "169.254.100.1:4325".parse().unwrap();
        assert!(telemetry_listen_allowed(&sandbox, "sandbox.localdomain"));
        assert!(!telemetry_listen_allowed(&sandbox, "169.254.100.1"));
        assert!(!telemetry_listen_allowed(
            &"[fe80::1]:1".parse().unwrap(),
            "x"
        ));
        assert!(telemetry_listen_allowed(
            &"[fe80::1]:1".parse().unwrap(),
            "sandbox.localdomain"
        ));
    }

    #[test]
    fn the_function_stream_is_off_when_the_function_exports_its_own_logs() {
        let logs = |pairs: &[(&str, &str)]| {
            let mut all = vec![("FAAS_OTEL_EXTENSION_ENDPOINT", "http://x")];
            all.extend_from_slice(pairs);
            let logs = ExtensionConfig::from_env(&Env::from_pairs(all))
                .unwrap()
                .logs;
            (logs.function, logs.extension)
        };
        assert_eq!(logs(&[("OTEL_LOGS_EXPORTER", "otlp")]), (false, false));
        assert_eq!(logs(&[("OTEL_LOGS_EXPORTER", "none")]), (true, false));
        // An explicit choice wins.
        let both = [
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("FAAS_OTEL_EXTENSION_LOGS", "function"),
        ];
        assert_eq!(logs(&both), (true, false));
    }

    #[test]
    fn log_streams() {
        let with = |value: Option<&str>| {
            let mut pairs = vec![("FAAS_OTEL_EXTENSION_ENDPOINT", "http://x")];
            pairs.extend(value.map(|v| ("FAAS_OTEL_EXTENSION_LOGS", v)));
            ExtensionConfig::from_env(&Env::from_pairs(pairs)).map(|c| c.logs)
        };
        let streams = |function, extension| LogStreams {
            function,
            extension,
        };
        assert_eq!(with(None).unwrap(), streams(true, false));
        assert_eq!(with(Some("function")).unwrap(), streams(true, false));
        assert_eq!(with(Some("extension")).unwrap(), streams(false, true));
        assert_eq!(
            with(Some(" Function , extension ")).unwrap(),
            streams(true, true)
        );
        assert_eq!(with(Some("off")).unwrap(), streams(false, false));
        assert_eq!(with(Some("OFF")).unwrap(), streams(false, false));
        let error = with(Some("function,platform")).unwrap_err();
        assert_eq!(error.variable, "FAAS_OTEL_EXTENSION_LOGS");
        assert!(with(Some(",")).is_err());
        // An empty value is an unset one.
        assert_eq!(with(Some("")).unwrap(), streams(true, false));
    }

    #[test]
    fn headers_are_percent_decoded_and_secrets_never_echoed() {
        let headers = parse_headers("H", "Authorization=Basic%20abc, x-team = a%3Db").unwrap();
        assert_eq!(
            headers,
            vec![
                ("authorization".into(), "Basic abc".into()),
                ("x-team".into(), "a=b".into())
            ]
        );
        let err = parse_headers("H", "secret-without-equals").unwrap_err();
        assert!(!err.to_string().contains("secret"));
        let config = ExtensionConfig::from_env(&Env::from_pairs([
            ("FAAS_OTEL_EXTENSION_ENDPOINT", "http://x"),
            ("FAAS_OTEL_EXTENSION_HEADERS", "x-api-key=Sk-8f14e45fceea"),
        ]))
        .unwrap();
        assert_eq!(config.headers[0].1, "Sk-8f14e45fceea");
        let shown = format!("{config:?}");
        assert!(
            shown.contains("x-api-key") && !shown.contains("Sk-8f14e45fceea"),
            "{shown}"
        );
    }
}
