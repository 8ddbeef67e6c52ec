//! Log lines that carry the trace (cargo feature `logging`).
//!
//! The provider crates' `run`/`serve` install a `tracing` subscriber (unless one is already
//! set) whose every line names the active trace id, span id and invocation id, in the
//! platform's format: the provider chooses the [`LogFormat`] (field names, level names, the
//! trace id's prefix); faas-core writes it ([`CorrelatedFormat`], a `tracing-subscriber`
//! `FormatEvent`, JSON by `serde_json`). The same layer bridges handler `tracing` spans into the
//! invocation's trace ([`crate::tracing_bridge`]) and, with `OTEL_LOGS_EXPORTER=otlp`, sends
//! each event as an OTLP log record with the spans' bounded flush.
//!
//! A user with a subscriber of their own keeps it and adds [`layer`] (or [`Logging::layer`]) to it:
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt as _;
//! # fn example(telemetry: &faas_core::pipeline::Telemetry) {
//! let format = faas_core::logging::LogFormat::Json(faas_core::logging::JsonStyle::default());
//! let subscriber = tracing_subscriber::registry()
//!     .with(faas_core::logging::layer(telemetry, format));
//! tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
//! # }
//! ```

mod config;
mod correlation;
mod format;
mod layer;
mod style;

pub use config::{DEFAULT_LEVEL, RUST_LOG, filter_from_env, parse_directives, parse_level};
pub use correlation::Correlation;
pub use format::CorrelatedFormat;
pub use layer::{Logging, UNBRIDGED_TARGETS, layer};
pub use style::{InvocationIdKey, JsonStyle, LogFormat, TextStyle, plain_level_name};
pub use tracing::Level;
pub use tracing_subscriber::filter::Targets;
