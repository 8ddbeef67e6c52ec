//! SigV4 signing of OTLP requests (feature `sigv4`), to send straight to AWS's own OTLP
//! endpoints: traces to `https://xray.<region>.amazonaws.com/v1/traces` (service `xray`), logs
//! to `https://logs.<region>.amazonaws.com/v1/logs` (service `logs`, with the headers
//! `x-aws-log-group` and `x-aws-log-stream`).
//!
//! [`SigV4Auth`] signs with the `aws-sigv4` crate (the AWS SDK's own signer, without the SDK):
//! the credentials are the ones Lambda sets for the function and its extensions
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); the region and the
//! service come from each request's host ([`infer_scope`]) unless overridden. It signs the
//! request exactly as it leaves, after compression, again on every attempt. Its `Debug` and its
//! errors never show a credential.

use std::borrow::Cow;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::faas_environment::BoxFuture;
use faas_core::pipeline::{ExportAuth, ExportAuthError};
use http::{HeaderMap, HeaderValue, Request, Uri};

/// The variable holding the access key id.
pub const ACCESS_KEY_ID_VAR: &str = "AWS_ACCESS_KEY_ID";
/// The variable holding the secret access key.
pub const SECRET_ACCESS_KEY_VAR: &str = "AWS_SECRET_ACCESS_KEY";
/// The variable holding the session token (set on Lambda: its credentials are temporary).
pub const SESSION_TOKEN_VAR: &str = "AWS_SESSION_TOKEN";

/// The signing region and service of an AWS endpoint's host: `xray.us-east-1.amazonaws.com`
/// is `("us-east-1", "xray")`, `logs.eu-west-1.amazonaws.com` is `("eu-west-1", "logs")`
/// (`-fips` hosts sign as their service; `.amazonaws.com.cn` hosts too). `None` for any other
/// host: then the region and the service must be set.
pub fn infer_scope(host: &str) -> Option<(String, String)> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let prefix = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let (service, region) = prefix.split_once('.')?;
    let service = service.strip_suffix("-fips").unwrap_or(service);
    let label_ok =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (label_ok(service) && label_ok(region) && region.bytes().any(|b| b.is_ascii_digit()))
        .then(|| (region.to_owned(), service.to_owned()))
}

/// Signs requests with AWS Signature Version 4. See the [module docs](self).
#[derive(Clone)]
pub struct SigV4Auth {
    credentials: Credentials,
    region: Option<String>,
    service: Option<String>,
}

impl std::fmt::Debug for SigV4Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Auth")
            .field("credentials", &"** redacted **")
            .field("region", &self.region)
            .field("service", &self.service)
            .finish()
    }
}

impl SigV4Auth {
    /// Signs with these credentials; region and service from each request's host.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self {
            credentials: Credentials::new(
                access_key_id,
                secret_access_key,
                session_token,
                None,
                "environment",
            ),
            region: None,
            service: None,
        }
    }

    /// Reads the credentials from `env` ([`ACCESS_KEY_ID_VAR`], [`SECRET_ACCESS_KEY_VAR`],
    /// [`SESSION_TOKEN_VAR`]) and the overrides from `region_var` and `service_var`. Missing
    /// credentials are an error naming the variables (never their values).
    pub fn from_env(env: &Env, region_var: &str, service_var: &str) -> Result<Self, ConfigError> {
        let get = |var: &str| {
            env.get(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let missing: Vec<&str> = [ACCESS_KEY_ID_VAR, SECRET_ACCESS_KEY_VAR]
            .into_iter()
            .filter(|var| get(var).is_none())
            .collect();
        let (Some(key), Some(secret)) = (get(ACCESS_KEY_ID_VAR), get(SECRET_ACCESS_KEY_VAR)) else {
            return Err(ConfigError::new(
                missing.join(", "),
                "",
                "SigV4 signing needs AWS credentials: set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials; Lambda \
                 sets all three for the function and its extensions)",
            ));
        };
        let mut auth = Self::new(key, secret, get(SESSION_TOKEN_VAR));
        auth.region = get(region_var);
        auth.service = get(service_var);
        Ok(auth)
    }

    /// Signs in `region` whatever the host says.
    #[must_use]
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Signs for `service` whatever the host says.
    #[must_use]
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The region and the service a request to `uri` is signed for: the overrides, else the
    /// host's ([`infer_scope`]).
    pub fn scope(&self, uri: &Uri) -> Result<(String, String), ExportAuthError> {
        let inferred = uri.host().and_then(infer_scope);
        let region = self
            .region
            .clone()
            .or_else(|| inferred.as_ref().map(|(r, _)| r.clone()));
        let service = self.service.clone().or_else(|| inferred.map(|(_, s)| s));
        match (region, service) {
            (Some(region), Some(service)) => Ok((region, service)),
            _ => Err(ExportAuthError(format!(
                "cannot tell the SigV4 region and service of {}: it is not an \
                 <service>.<region>.amazonaws.com host; set FAAS_OTEL_AUTH_REGION and \
                 FAAS_OTEL_AUTH_SERVICE (FAAS_OTEL_EXTENSION_AUTH_* for the extension)",
                uri.host().unwrap_or("a URL without a host")
            ))),
        }
    }

    /// Checks at start-up that requests to `endpoint` (the value of `variable`) can be signed.
    pub fn check_endpoint(&self, variable: &str, endpoint: &str) -> Result<(), ConfigError> {
        let uri: Uri = endpoint
            .parse()
            .map_err(|_| ConfigError::new(variable, endpoint, "not a URL"))?;
        self.scope(&uri)
            .map(|_| ())
            .map_err(|e| ConfigError::new(variable, endpoint, e.0))
    }

    /// Signs a request now: adds `authorization`, `x-amz-date` and (with a session token)
    /// `x-amz-security-token` to `headers`, signing every header already there that SigV4
    /// signs (plus the host of `uri`) and the exact `body`.
    pub fn sign(
        &self,
        method: &str,
        uri: &Uri,
        headers: &mut HeaderMap,
        body: &[u8],
    ) -> Result<(), ExportAuthError> {
        self.sign_at(method, uri, headers, body, SystemTime::now())
    }

    /// As [`SigV4Auth::sign`], at `time`.
    pub fn sign_at(
        &self,
        method: &str,
        uri: &Uri,
        headers: &mut HeaderMap,
        body: &[u8],
        time: SystemTime,
    ) -> Result<(), ExportAuthError> {
        let (region, service) = self.scope(uri)?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(ExportAuthError("cannot sign a URL without a host".into()));
        }
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(&service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ExportAuthError(format!("SigV4 signing parameters: {e}")))?
            .into();
        // Headers that are not text cannot be signed; they are sent as they are.
        let signable_headers = headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let request = SignableRequest::new(
            method,
            Cow::Owned(uri.to_string()),
            signable_headers,
            SignableBody::Bytes(body),
        )
        .map_err(|e| ExportAuthError(format!("cannot sign the request to {uri}: {e}")))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| ExportAuthError(format!("SigV4 signing failed: {e}")))?
            .into_parts();
        let (signed, _query) = instructions.into_parts();
        for header in signed {
            let mut value = HeaderValue::from_str(header.value()).map_err(|_| {
                ExportAuthError(format!("SigV4 header {} is not text", header.name()))
            })?;
            // The signature is as good as a credential for its few minutes of validity.
            value.set_sensitive(header.sensitive() || header.name() == "authorization");
            headers.insert(header.name(), value);
        }
        Ok(())
    }
}

impl ExportAuth for SigV4Auth {
    fn authorize<'a>(
        &'a self,
        request: &'a mut Request<Bytes>,
    ) -> BoxFuture<'a, Result<(), ExportAuthError>> {
        let (parts, body) = std::mem::take(request).into_parts();
        let mut parts = parts;
        let result = self.sign(parts.method.as_str(), &parts.uri, &mut parts.headers, &body);
        *request = Request::from_parts(parts, body);
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn scope_from_the_host() {
        let scope = |h: &str| infer_scope(h);
        let pair = |r: &str, s: &str| Some((r.to_owned(), s.to_owned()));
        assert_eq!(
            scope("xray.us-east-1.amazonaws.com"),
            pair("us-east-1", "xray")
        );
        assert_eq!(
            scope("logs.eu-west-1.amazonaws.com"),
            pair("eu-west-1", "logs")
        );
        assert_eq!(
            scope("XRAY-fips.us-gov-west-1.amazonaws.com."),
            pair("us-gov-west-1", "xray")
        );
        assert_eq!(
            scope("xray.cn-north-1.amazonaws.com.cn"),
            pair("cn-north-1", "xray")
        );
        assert_eq!(scope("127.0.0.1"), None);
        assert_eq!(scope("amazonaws.com"), None);
        assert_eq!(scope("xray.amazonaws.com"), None);
        assert_eq!(scope("a.b.c.amazonaws.com"), None);
        assert_eq!(scope("xray.evil.example.com"), None);
    }

    #[test]
    fn overrides_win_and_unknown_hosts_need_them() {
        let auth = SigV4Auth::new("AKIDEXAMPLE", "secret", None);
        let local: Uri = "http://127.0.0.1:4318/v1/traces".parse().unwrap();
        let err = auth.scope(&local).unwrap_err();
        assert!(err.0.contains("FAAS_OTEL_AUTH_REGION"), "{err}");
        let auth = auth.with_region("eu-west-1").with_service("xray");
        assert_eq!(
            auth.scope(&local).unwrap(),
            ("eu-west-1".to_owned(), "xray".to_owned())
        );
        let xray: Uri = "https://xray.us-east-1.amazonaws.com/v1/traces"
            .parse()
            .unwrap();
        let only_region = SigV4Auth::new("k", "s", None).with_region("ap-south-1");
        assert_eq!(
            only_region.scope(&xray).unwrap(),
            ("ap-south-1".to_owned(), "xray".to_owned())
        );
    }

    #[test]
    fn missing_credentials_name_the_variables_and_debug_redacts() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKID")]);
        let err = SigV4Auth::from_env(&env, "R", "S").unwrap_err();
        assert_eq!(err.variable, "AWS_SECRET_ACCESS_KEY");
        let err = SigV4Auth::from_env(&Env::from_pairs::<&str, &str>([]), "R", "S").unwrap_err();
        assert_eq!(err.variable, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY");
        let env = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-key"),
            ("AWS_SESSION_TOKEN", "very-secret-token"),
            ("R", "eu-west-1"),
        ]);
        let auth = SigV4Auth::from_env(&env, "R", "S").unwrap();
        let debug = format!("{auth:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("eu-west-1"), "{debug}");
    }

    /// The headers signing adds and the headers it signs (the signature itself is checked
    /// against botocore's in the integration test `sigv4_export`).
    #[test]
    fn signing_adds_the_three_headers_and_signs_host_and_content_headers() {
        let auth = SigV4Auth::new("AKIDEXAMPLE", "secret", Some("token".into()));
        let uri: Uri = "https://xray.us-east-1.amazonaws.com/v1/traces"
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert("content-encoding", HeaderValue::from_static("gzip"));
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        auth.sign_at("POST", &uri, &mut headers, b"body", time)
            .unwrap();
        assert_eq!(headers["x-amz-date"], "20150830T123600Z");
        assert_eq!(headers["x-amz-security-token"], "token");
        let authorization = headers["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/xray/aws4_request, \
                 SignedHeaders=content-encoding;content-type;host;x-amz-date;x-amz-security-token, \
                 Signature="
            ),
            "{authorization}"
        );
        assert!(headers["authorization"].is_sensitive());
        let mut again = headers.clone();
        auth.sign_at("POST", &uri, &mut again, b"other body", time)
            .unwrap();
        assert_ne!(again["authorization"], headers["authorization"]);
    }

    proptest! {
        #[test]
        fn infer_scope_never_panics_and_reads_what_it_was_given(
            service in "[a-z][a-z0-9-]{0,15}",
            region in "[a-z]{2}-[a-z]{1,9}-[0-9]",
            junk in ".{0,40}",
        ) {
            let host = format!("{service}.{region}.amazonaws.com");
            let expected_service = service.strip_suffix("-fips").unwrap_or(&service).to_owned();
            let got = infer_scope(&host);
            if expected_service.is_empty() {
                prop_assert_eq!(got, None);
            } else {
                prop_assert_eq!(got, Some((region, expected_service)));
            }
            let _ = infer_scope(&junk);
        }
    }
}
