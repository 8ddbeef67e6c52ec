//! SigV4 signing of one upstream request (`FAAS_OTEL_EXTENSION_AUTH=sigv4`, see
//! `upstream_auth`): each attempt of the forwarder's send loop is signed anew, over the body as
//! sent (compressed).

use crate::upstream_auth::Signer;

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

#[cfg(test)]
#[cfg(feature = "sigv4")]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
