//! [`build_client`]: the upstream HTTP client, rustls with compiled-in roots.

use std::time::Duration;

/// A reqwest client trusting the Mozilla roots of `webpki-root-certs` only: no certificate file
/// is read, so the extension behaves the same in every Lambda runtime image. Redirects are
/// never followed: a `3xx` would send the telemetry (and the configured headers, which may
/// hold credentials) somewhere the user did not configure; it is answered as a refusal.
pub(crate) fn build_client() -> Result<reqwest::Client, String> {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok());
    reqwest::Client::builder()
        .tls_certs_only(roots)
        .pool_idle_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))
}
