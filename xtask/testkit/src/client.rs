//! The HTTP client of the tests, for the fakes and the servers under test on loopback.

use std::time::Duration;

/// A reqwest client that never goes through a proxy (the tests talk to `127.0.0.1`; an
/// `HTTP_PROXY` in the environment must not divert them), with a `timeout` per request when
/// given.
pub fn http_client(timeout: Option<Duration>) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder().no_proxy();
    match timeout {
        Some(timeout) => builder.timeout(timeout),
        None => builder,
    }
    .build()
}
