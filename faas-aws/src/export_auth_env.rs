//! `FAAS_OTEL_AUTH`: how the function's own OTLP requests are authorized, read by
//! `telemetry_from_env` (and `FAAS_OTEL_EXTENSION_AUTH`, the same
//! for the faas-otel-extension's forwarder).
//!
//! `none` (the default) sends the configured static headers only (the Lambda extension on
//! localhost needs nothing else); `sigv4` signs every request with SigV4 (feature `sigv4`),
//! to export straight to `https://xray.<region>.amazonaws.com/v1/traces`.

#[cfg(feature = "sigv4")]
use std::sync::Arc;

use faas_core::ConfigError;
#[cfg(feature = "sigv4")]
use faas_core::config::{Protocol, TelemetryConfig};
use faas_core::env::Env;
use faas_core::pipeline::TelemetryBuilder;

/// The function's setting: `none` or `sigv4`.
pub const AUTH_VAR: &str = "FAAS_OTEL_AUTH";
/// Overrides the SigV4 signing region of the function's requests (default: from the host).
pub const AUTH_REGION_VAR: &str = "FAAS_OTEL_AUTH_REGION";
/// Overrides the SigV4 signing service of the function's requests (default: from the host).
pub const AUTH_SERVICE_VAR: &str = "FAAS_OTEL_AUTH_SERVICE";
/// The extension's setting: `none` or `sigv4`.
pub const EXTENSION_AUTH_VAR: &str = "FAAS_OTEL_EXTENSION_AUTH";
/// Overrides the SigV4 signing region of the extension's requests.
pub const EXTENSION_AUTH_REGION_VAR: &str = "FAAS_OTEL_EXTENSION_AUTH_REGION";
/// Overrides the SigV4 signing service of the extension's requests.
pub const EXTENSION_AUTH_SERVICE_VAR: &str = "FAAS_OTEL_EXTENSION_AUTH_SERVICE";

/// What an auth variable asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthKind {
    /// Static headers only.
    None,
    /// SigV4 signing.
    SigV4,
}

/// The value of `variable` (`none`, `sigv4`; unset or empty is `none`). `sigv4` in a build
/// without the feature `sigv4` is an error saying so.
pub fn auth_kind(env: &Env, variable: &str) -> Result<AuthKind, ConfigError> {
    let Some(value) = env.get(variable) else {
        return Ok(AuthKind::None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "none" => Ok(AuthKind::None),
        "sigv4" if cfg!(feature = "sigv4") => Ok(AuthKind::SigV4),
        "sigv4" => Err(ConfigError::new(
            variable,
            value,
            "this build has no SigV4 signing: enable the cargo feature `sigv4` of faas-aws",
        )),
        _ => Err(ConfigError::new(
            variable,
            value,
            "expected one of none, sigv4",
        )),
    }
}

/// The function's `SigV4Auth` when `FAAS_OTEL_AUTH=sigv4`:
/// credentials present, and the traces (and metrics) endpoint signable over OTLP/HTTP.
#[cfg(feature = "sigv4")]
pub fn function_sigv4(env: &Env) -> Result<Option<crate::sigv4_auth::SigV4Auth>, ConfigError> {
    if auth_kind(env, AUTH_VAR)? != AuthKind::SigV4 {
        return Ok(None);
    }
    let auth = crate::sigv4_auth::SigV4Auth::from_env(env, AUTH_REGION_VAR, AUTH_SERVICE_VAR)?;
    let config = TelemetryConfig::from_env(env)?;
    let signals = [
        (
            config.traces_enabled,
            config.traces_protocol,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &config.traces_endpoint,
        ),
        (
            config.metrics_enabled,
            config.metrics_protocol,
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            &config.metrics_endpoint,
        ),
    ];
    for (enabled, protocol, variable, endpoint) in signals {
        if !enabled || config.sdk_disabled {
            continue;
        }
        if protocol == Protocol::Grpc {
            return Err(ConfigError::new(
                AUTH_VAR,
                "sigv4",
                "SigV4 signing applies to OTLP/HTTP only: set OTEL_EXPORTER_OTLP_PROTOCOL to \
                 http/protobuf or http/json",
            ));
        }
        auth.check_endpoint(variable, endpoint)?;
    }
    Ok(Some(auth))
}

/// `builder`, authorizing its exports as `FAAS_OTEL_AUTH` says.
pub fn with_export_auth(
    builder: TelemetryBuilder,
    env: &Env,
) -> Result<TelemetryBuilder, ConfigError> {
    match auth_kind(env, AUTH_VAR)? {
        AuthKind::None => Ok(builder),
        #[cfg(feature = "sigv4")]
        AuthKind::SigV4 => Ok(match function_sigv4(env)? {
            Some(auth) => builder.with_export_auth(Arc::new(auth)),
            None => builder,
        }),
        // Without the feature `auth_kind` refuses `sigv4`.
        #[cfg(not(feature = "sigv4"))]
        AuthKind::SigV4 => Ok(builder),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn the_setting_parses_and_rejects_garbage() {
        assert_eq!(auth_kind(&env(&[]), AUTH_VAR).unwrap(), AuthKind::None);
        assert_eq!(
            auth_kind(&env(&[(AUTH_VAR, " None ")]), AUTH_VAR).unwrap(),
            AuthKind::None
        );
        let err = auth_kind(&env(&[(AUTH_VAR, "oauth")]), AUTH_VAR).unwrap_err();
        assert_eq!(
            (err.variable.as_str(), err.value.as_str()),
            (AUTH_VAR, "oauth")
        );
        let sigv4 = auth_kind(&env(&[(AUTH_VAR, "SigV4")]), AUTH_VAR);
        if cfg!(feature = "sigv4") {
            assert_eq!(sigv4.unwrap(), AuthKind::SigV4);
        } else {
            assert!(sigv4.unwrap_err().reason.contains("feature `sigv4`"));
        }
    }

    #[cfg(feature = "sigv4")]
    #[test]
    fn sigv4_checks_credentials_endpoint_and_protocol_at_start_up() {
        let creds = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t-value"),
            (AUTH_VAR, "sigv4"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ];
        let xray = (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "https://xray.us-east-1.amazonaws.com/v1/traces",
        );
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = creds.to_vec();
            pairs.extend_from_slice(extra);
            function_sigv4(&env(&pairs))
        };
        assert!(with(&[xray]).unwrap().is_some());
        let missing = function_sigv4(&env(&[(AUTH_VAR, "sigv4"), xray])).unwrap_err();
        assert_eq!(missing.variable, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY");
        let local = with(&[]).unwrap_err();
        assert_eq!(local.variable, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        assert!(local.reason.contains("FAAS_OTEL_AUTH_REGION"), "{local}");
        assert!(!local.to_string().contains("s3cr3t"));
        assert!(
            with(&[(AUTH_REGION_VAR, "us-east-1"), (AUTH_SERVICE_VAR, "xray")])
                .unwrap()
                .is_some()
        );
        let grpc = with(&[xray, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap_err();
        // Without faas-core's `grpc` the protocol itself is refused first.
        assert!(
            grpc.reason.contains("OTLP/HTTP only")
                || grpc.variable == "OTEL_EXPORTER_OTLP_PROTOCOL",
            "{grpc}"
        );
        assert!(function_sigv4(&env(&[])).unwrap().is_none());
    }
}
