#![doc = include_str!("../README.md")]

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
mod hanging;
#[cfg(feature = "server")]
mod recorded;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
mod serving;
#[cfg(feature = "server")]
mod sigv4_check;

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
pub use hanging::Hanging;
#[cfg(feature = "server")]
pub use recorded::Recorded;
#[cfg(feature = "server")]
pub use server::{Endpoint, Listener, RefusedPort, Reply};
#[cfg(feature = "server")]
pub use serving::{Serving, ShutdownSignal, StopError};
#[cfg(feature = "server")]
pub use sigv4_check::{Sigv4Check, TEST_PYTHON_VAR, test_python};
