//! faas-testkit: the fakes the workspace's tests need, in one `publish = false` crate used as
//! a dev-dependency.
//!
//! Every fake takes a **bound listener** ([`Listener`]: std's or tokio's `TcpListener`), never
//! a port number, runs on a thread and runtime of its own (so it serves plain `#[test]`s and
//! any tokio flavour alike) and stops when dropped. Requests are numbered from a
//! [`Sequence`] that several fakes can share, so tests check what happened before what.
//!
//! Without features the crate is std only:
//! - [`Process`]: the process harness (spawn a [`std::process::Command`], output captured,
//!   killed and reaped on drop, bounded waits, the port a child bound, `/proc` figures);
//! - [`moto_endpoint`] and [`MotoServer`]: the moto contract of `cargo xtask test`
//!   (`FAAS_OTEL_TEST_MOTO_ENDPOINT`) and a std-only launcher;
//! - [`wait_until`], [`Sequence`];
//! - [`assert_close`] and [`SplitMix64`], for computed numbers and reproducible ids.
//!
//! Features (all on by default; the workspace dependency turns defaults off, so each crate
//! names what it uses):
//! - `otlp`: [`otlp::OtlpReceiver`], the OTLP/HTTP receiver (protobuf and OTLP/JSON, gzip);
//! - `azure`: [`azure::FakeHost`], the Azure Functions host (custom-handler protocol);
//! - `gcp`: [`gcp::MetadataServer`], the GCP metadata server;
//! - `moto`: [`moto::RecordingProxy`], a recording HTTP proxy in front of moto;
//! - `server` (implied by each): [`FakeHttp`], [`Endpoint`], [`Listener`], [`Reply`],
//!   [`RefusedPort`], [`http_client`].

mod close;
mod listening;
mod lock;
mod moto_endpoint;
mod moto_server;
mod probe;
mod process;
mod sequence;
mod splitmix;
mod wait;

#[cfg(feature = "server")]
mod client;
#[cfg(feature = "server")]
mod fake_http;
#[cfg(feature = "server")]
mod recorded;
#[cfg(feature = "server")]
mod server;

#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(feature = "moto")]
pub mod moto;
#[cfg(feature = "otlp")]
pub mod otlp;

pub use close::assert_close;
pub use listening::listening_addrs;
pub use moto_endpoint::{MOTO_ENDPOINT_VAR, moto_endpoint};
pub use moto_server::MotoServer;
pub use probe::http_request;
pub use process::Process;
pub use sequence::Sequence;
pub use splitmix::SplitMix64;
#[cfg(feature = "server")]
pub use wait::wait_until_async;
pub use wait::{PATIENCE, Timeout, wait_until};

#[cfg(feature = "server")]
pub use client::http_client;
#[cfg(feature = "server")]
pub use fake_http::FakeHttp;
#[cfg(feature = "server")]
pub use recorded::Recorded;
#[cfg(feature = "server")]
pub use server::{Endpoint, Listener, RefusedPort, Reply};
