//! The TLS configuration of the export client (feature `tls`): rustls with the aws-lc-rs
//! provider (the one the AWS SDK's rustls uses, so a build has one), trusting either the
//! Mozilla roots compiled into `webpki-root-certs` or, when `OTEL_EXPORTER_OTLP_CERTIFICATE`
//! names a PEM file, the certificates of that file only (as the other OpenTelemetry SDKs do).
//!
//! No certificate file of the system is read: the compiled-in roots behave the same in every
//! runtime image, and reading `/etc/ssl/certs` cost milliseconds of the cold start.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// A client configuration trusting the certificates of the PEM file `certificate` when given,
/// else the compiled-in roots. A file that cannot be read or holds no usable certificate is an
/// error naming it: the exporter would otherwise fail every export.
pub(crate) fn client_config(certificate: Option<&Path>) -> Result<ClientConfig, String> {
    let roots = match certificate {
        Some(path) => file_roots(path)?,
        None => {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
            );
            roots
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The certificates of the PEM file at `path`, as a root store.
fn file_roots(path: &Path) -> Result<RootCertStore, String> {
    let named = |e: &dyn std::fmt::Display| {
        format!("OTEL_EXPORTER_OTLP_CERTIFICATE ({}): {e}", path.display())
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| named(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(&e))?;
    let mut roots = RootCertStore::empty();
    let (added, _unusable) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(named(&"no usable certificate in the file"));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_compiled_in_roots_are_trusted_without_a_file() {
        assert!(client_config(None).is_ok());
    }

    #[test]
    fn an_unreadable_or_empty_certificate_file_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("faas-core-export-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let error = client_config(Some(&missing)).unwrap_err();
        assert!(
            error.starts_with("OTEL_EXPORTER_OTLP_CERTIFICATE ("),
            "{error}"
        );
        assert!(error.contains("missing.pem"), "{error}");

        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = client_config(Some(&empty)).unwrap_err();
        assert!(error.contains("empty.pem"), "{error}");
        assert!(
            error.ends_with("no usable certificate in the file"),
            "{error}"
        );

        let garbage = dir.join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let error = client_config(Some(&garbage)).unwrap_err();
        assert!(error.contains("garbage.pem"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
