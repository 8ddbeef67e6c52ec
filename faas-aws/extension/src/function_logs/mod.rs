//! Function logs: the Telemetry API's `function` (and, optionally, `extension`) log lines as
//! OTLP log records, each with its timestamp, severity, body, `faas.invocation_id` and the
//! trace id and span id of its invocation's span, forwarded to `/v1/logs` through the buffer
//! like the function's own data (`FAAS_OTEL_EXTENSION_LOGS`).
//!
//! `text_line.rs` and `log_line.rs` read one line (text or JSON log format, pure);
//! `tying.rs` ties lines to invocations and traces; `flow.rs` connects it to the
//! listener and the buffer.

mod flow;
mod log_line;
mod severity;
mod text_line;
mod tying;

pub(crate) use flow::{on_batch, release};
pub(crate) use tying::FunctionLogs;
