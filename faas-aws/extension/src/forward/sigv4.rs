//! SigV4 signing of the upstream requests (`FAAS_OTEL_EXTENSION_AUTH=sigv4`, feature `sigv4`,
//! on by default), so the extension forwards straight to AWS's OTLP endpoints
//! (`https://xray.<region>.amazonaws.com`, traces; `https://logs.<region>.amazonaws.com`,
//! logs). It reuses faas-aws's signer: the credentials Lambda sets for its extensions
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); the region and service
//! from each request's host unless `FAAS_OTEL_EXTENSION_AUTH_REGION` /
//! `FAAS_OTEL_EXTENSION_AUTH_SERVICE` say otherwise. Each attempt of [`super::send`] is signed
//! anew, over the body as sent (compressed).

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

/// `builder` signed by `signer` (as it is when there is none). A request that cannot be
/// signed (it cannot be built) is left as it is: sending it reports the error.
pub(crate) fn signed(
    builder: reqwest::RequestBuilder,
    signer: Option<&Signer>,
) -> reqwest::RequestBuilder {
    let Some(signer) = signer else {
        return builder;
    };
    let (client, request) = builder.build_split();
    let Ok(mut request) = request else {
        return builder_of(client, request);
    };
    sign(signer, &mut request);
    reqwest::RequestBuilder::from_parts(client, request)
}

fn builder_of(
    client: reqwest::Client,
    request: reqwest::Result<reqwest::Request>,
) -> reqwest::RequestBuilder {
    match request {
        Ok(request) => reqwest::RequestBuilder::from_parts(client, request),
        // An unbuildable request: a builder that fails the same way when sent.
        Err(_) => client.post("invalid://unbuildable-request"),
    }
}

#[cfg(feature = "sigv4")]
fn sign(signer: &Signer, request: &mut reqwest::Request) {
    let Ok(uri) = request.url().as_str().parse::<http::Uri>() else {
        return;
    };
    let method = request.method().as_str().to_owned();
    let body = request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    if let Err(error) = signer.sign(&method, &uri, request.headers_mut(), &body) {
        // The scope was checked at start-up; the message names no credential.
        eprintln!("faas-otel-extension: upstream request not signed: {error}");
    }
}

#[cfg(not(feature = "sigv4"))]
fn sign(signer: &Signer, _request: &mut reqwest::Request) {
    match *signer {}
}

#[cfg(all(test, feature = "sigv4"))]
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

    #[test]
    fn a_signed_request_keeps_its_body_timeout_and_headers() {
        let signer = Signer::new("AKID", "secret", Some("token".into()));
        let client = reqwest::Client::new();
        let builder = client
            .post("https://xray.us-east-1.amazonaws.com/v1/traces")
            .timeout(std::time::Duration::from_millis(1234))
            .header("content-type", "application/x-protobuf")
            .body(vec![1u8, 2, 3]);
        let request = signed(builder, Some(&signer)).build().unwrap();
        assert_eq!(
            request.body().and_then(reqwest::Body::as_bytes),
            Some(&[1u8, 2, 3][..])
        );
        assert_eq!(
            request.timeout(),
            Some(&std::time::Duration::from_millis(1234))
        );
        let auth = request.headers()["authorization"].to_str().unwrap();
        assert!(auth.contains("/us-east-1/xray/aws4_request"), "{auth}");
        assert!(auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
        assert_eq!(request.headers()["x-amz-security-token"], "token");
    }
}
