//! OTLP over HTTPS (feature `tls`) against a real rustls server: a TLS relay in front of the
//! real OTLP receiver, with the certificate of `tests/fixtures/tls` (a test CA and a
//! `127.0.0.1` server certificate signed by it).
//!
//! - Trusting the test CA through `OTEL_EXPORTER_OTLP_CERTIFICATE`, the span and its API key
//!   arrive through TLS.
//! - With the compiled-in roots only, the server is not trusted: nothing arrives, and the
//!   failure is the network error kind (the batch is kept for a later flush), as a refused
//!   connection is.
//! - A certificate file that cannot be read stops start-up with an error naming the variable.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use faas_core::cold_start::ColdStart;
use faas_core::env::Env;
use faas_core::faas_environment::LocalEnvironment;
use faas_core::invocation::{Invocation, Outcome, Trigger};
use faas_core::pipeline::Telemetry;
use faas_testkit::otlp::OtlpReceiver;
use faas_testkit::{PATIENCE, wait_until_async};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const SECRET: &str = "Sk-8f14e45fceea167a";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A TLS server on a fresh `127.0.0.1:0` that relays every decrypted connection to `target`.
struct TlsRelay {
    addr: SocketAddr,
    /// Handshakes that completed.
    handshakes: Arc<AtomicUsize>,
    /// Handshakes that failed (the client gave up on the certificate).
    refused: Arc<AtomicUsize>,
}

impl TlsRelay {
    async fn start(target: SocketAddr) -> Self {
        let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (ok, failed) = (handshakes.clone(), refused.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, ok, failed) = (acceptor.clone(), ok.clone(), failed.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    ok.fetch_add(1, Ordering::SeqCst);
                    let mut plain = TcpStream::connect(target).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Self {
            addr,
            handshakes,
            refused,
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

fn telemetry(endpoint: &str, certificate: Option<&Path>) -> Result<Telemetry, faas_core::Error> {
    let headers = format!("x-api-key={SECRET}");
    let mut vars = vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            endpoint.to_owned(),
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS".to_owned(), headers),
        ("OTEL_METRICS_EXPORTER".to_owned(), "none".to_owned()),
        // A span the untrusted server never got is still queued when the test ends: the
        // final drain's retries need not last the default 3 s.
        ("FAAS_OTEL_SHUTDOWN_TIMEOUT_MS".to_owned(), "100".to_owned()),
    ];
    if let Some(path) = certificate {
        vars.push((
            "OTEL_EXPORTER_OTLP_CERTIFICATE".to_owned(),
            path.display().to_string(),
        ));
    }
    Telemetry::builder(LocalEnvironment::named("tls-test"))
        .with_env(Env::from_pairs(vars))
        .with_cold_start(Box::leak(Box::new(ColdStart::from_process())))
        .install_global(false)
        .build()
}

fn one_invocation(telemetry: &Telemetry) {
    let _ = telemetry.cold_start().take();
    telemetry
        .start_invocation(Invocation::new("fn", Trigger::Other))
        .end(Outcome::Ok);
}

#[tokio::test]
async fn the_span_arrives_over_tls_when_the_certificate_file_trusts_the_server() {
    let receiver = OtlpReceiver::start().unwrap();
    let relay = TlsRelay::start(receiver.addr()).await;
    let telemetry = telemetry(&relay.url(), Some(&fixture("ca.pem"))).unwrap();
    one_invocation(&telemetry);

    let report = telemetry.flush(None).await;
    assert_eq!(report.exported_spans, 1, "{report:?}");
    assert_eq!(report.error, None);
    assert_eq!(relay.handshakes.load(Ordering::SeqCst), 1);
    assert_eq!(relay.refused.load(Ordering::SeqCst), 0);
    let asked = receiver.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].http.path, "/v1/traces");
    assert_eq!(asked[0].http.header("x-api-key"), Some(SECRET));
    assert_eq!(receiver.spans().len(), 1);

    // The connection is kept: a second export makes no second handshake.
    one_invocation(&telemetry);
    let report = telemetry.flush(None).await;
    assert_eq!(report.exported_spans, 1, "{report:?}");
    assert_eq!(relay.handshakes.load(Ordering::SeqCst), 1);
    assert_eq!(receiver.spans().len(), 2);
}

#[tokio::test]
async fn a_server_the_compiled_in_roots_do_not_trust_gets_nothing_and_the_batch_is_kept() {
    let receiver = OtlpReceiver::start().unwrap();
    let relay = TlsRelay::start(receiver.addr()).await;
    let telemetry = telemetry(&relay.url(), None).unwrap();
    one_invocation(&telemetry);

    let report = telemetry.flush(None).await;
    assert_eq!(report.exported_spans, 0, "{report:?}");
    assert_eq!(report.dropped_spans, 0, "{report:?}");
    assert_eq!(report.requeued_spans, 1, "{report:?}");
    let error = report.error.unwrap();
    assert!(error.contains("network error"), "{error}");
    // The server task sees the client's alert after the flush has returned.
    let refused = || relay.refused.load(Ordering::SeqCst);
    wait_until_async("the failed handshake", PATIENCE, || {
        (refused() > 0).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(refused(), 1);
    assert_eq!(relay.handshakes.load(Ordering::SeqCst), 0);
    assert_eq!(receiver.request_count(), 0);
}

#[test]
fn an_unreadable_certificate_file_stops_start_up_naming_the_variable() {
    let missing = fixture("missing.pem");
    let error = telemetry("https://127.0.0.1:9", Some(&missing))
        .unwrap_err()
        .to_string();
    assert!(error.contains("OTEL_EXPORTER_OTLP_CERTIFICATE"), "{error}");
    assert!(error.contains("missing.pem"), "{error}");
}

#[test]
fn a_plain_http_endpoint_never_reads_the_certificate_file() {
    // The file does not exist: only an `https://` endpoint would read it.
    let telemetry = telemetry("http://127.0.0.1:9", Some(&fixture("missing.pem"))).unwrap();
    let _ = telemetry.cold_start().take();
}
