//! `FAAS_OTEL_EXTENSION_AUTH`: whether the upstream requests are SigV4-signed (`sigv4`,
//! feature `sigv4`, on by default), so the extension forwards straight to AWS's OTLP endpoints
//! (`https://xray.<region>.amazonaws.com`, traces; `https://logs.<region>.amazonaws.com`,
//! logs). It reuses faas-aws's signer: the credentials Lambda sets for its extensions
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); the region and service
//! from each request's host unless `FAAS_OTEL_EXTENSION_AUTH_REGION` /
//! `FAAS_OTEL_EXTENSION_AUTH_SERVICE` say otherwise. The signing itself is in
//! `forward::sigv4`. This file imports nothing of the crate: the settings depend on it.

use std::sync::Arc;

use faas_aws::export_auth_env::{AuthKind, EXTENSION_AUTH_VAR, auth_kind};
use faas_core::ConfigError;
use faas_core::env::Env;

/// The signer (faas-aws's `SigV4Auth`).
#[cfg(feature = "sigv4")]
pub(crate) type Signer = faas_aws::sigv4_auth::SigV4Auth;

/// Without the feature `sigv4` there is no signer (`FAAS_OTEL_EXTENSION_AUTH=sigv4` is a
/// start-up error).
#[cfg(not(feature = "sigv4"))]
#[derive(Debug)]
pub(crate) enum Signer {}

/// The signer `FAAS_OTEL_EXTENSION_AUTH` asks for: `None` for `none` (the default); for
/// `sigv4`, an error when a credential is missing or the scope of `endpoint` cannot be told.
pub(crate) fn signer_from_env(
    env: &Env,
    endpoint: &str,
) -> Result<Option<Arc<Signer>>, ConfigError> {
    match auth_kind(env, EXTENSION_AUTH_VAR)? {
        AuthKind::SigV4 => sigv4(env, endpoint).map(Some),
        _ => Ok(None),
    }
}

#[cfg(feature = "sigv4")]
fn sigv4(env: &Env, endpoint: &str) -> Result<Arc<Signer>, ConfigError> {
    use faas_aws::export_auth_env::{EXTENSION_AUTH_REGION_VAR, EXTENSION_AUTH_SERVICE_VAR};
    let signer = Signer::from_env(env, EXTENSION_AUTH_REGION_VAR, EXTENSION_AUTH_SERVICE_VAR)?;
    signer.check_endpoint("FAAS_OTEL_EXTENSION_ENDPOINT", endpoint)?;
    Ok(Arc::new(signer))
}

#[cfg(not(feature = "sigv4"))]
fn sigv4(_env: &Env, _endpoint: &str) -> Result<Arc<Signer>, ConfigError> {
    Err(ConfigError::new(
        EXTENSION_AUTH_VAR,
        "sigv4",
        "this build has no SigV4 signing: build faas-otel-extension with the feature `sigv4`",
    ))
}

#[cfg(test)]
#[cfg(feature = "sigv4")]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn the_setting_needs_credentials_and_a_known_scope() {
        let xray = "https://xray.eu-west-1.amazonaws.com";
        assert!(signer_from_env(&env(&[]), xray).unwrap().is_none());
        let on = [
            ("FAAS_OTEL_EXTENSION_AUTH", "sigv4"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "ext-secret-value"),
        ];
        assert!(signer_from_env(&env(&on), xray).unwrap().is_some());
        let err = signer_from_env(&env(&on[..1]), xray).unwrap_err();
        assert_eq!(err.variable, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY");
        let err = signer_from_env(&env(&on), "http://127.0.0.1:4318").unwrap_err();
        assert_eq!(err.variable, "FAAS_OTEL_EXTENSION_ENDPOINT");
        assert!(err.reason.contains("FAAS_OTEL_EXTENSION_AUTH_"), "{err}");
        assert!(!err.to_string().contains("ext-secret-value"));
    }
}
