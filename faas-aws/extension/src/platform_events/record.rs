//! [`Record`]: the typed record of a platform event, one serde-tagged enum with a fallback, so
//! each event `type` string is written once (in the table below).

use serde::Deserialize;

use super::environment_records::{ExtensionRecord, LogsDropped, TelemetrySubscription};
use super::init_records::{
    InitReport, InitRuntimeDone, InitStart, RestoreReport, RestoreRuntimeDone, RestoreStart,
};
use super::invoke_records::{Report, RuntimeDone, Start};

/// Declares [`Record`] and its [`event_type`](Record::event_type) from one table of
/// `Variant(RecordType) = "type string"`.
macro_rules! records {
    ($( $(#[doc = $doc:literal])* $variant:ident($record:ty) = $event_type:literal, )*) => {
        /// The record of a Telemetry API event, by the event's `type`
        /// (`{"type": "...", "record": {...}}`).
        ///
        /// A `type` not in this enum deserializes as [`Record::Unknown`].
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        #[serde(tag = "type", content = "record")]
        pub enum Record {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $event_type)]
                $variant($record),
            )*
            /// Any other `type` (including `function` and `extension` log lines). The parser
            /// turns it into [`PlatformEvent::Other`](super::PlatformEvent::Other), so a
            /// [`PlatformEvent::Known`](super::PlatformEvent::Known) never holds it.
            #[serde(other)]
            Unknown,
        }

        impl Record {
            /// The event's `type`, e.g. `platform.report`; `None` for [`Record::Unknown`].
            pub fn event_type(&self) -> Option<&'static str> {
                match self {
                    $( Self::$variant(_) => Some($event_type), )*
                    Self::Unknown => None,
                }
            }

            /// Whether `event_type` is a type in this enum.
            pub(crate) fn is_known(event_type: &str) -> bool {
                matches!(event_type, $( $event_type )|*)
            }

            /// The record of an event of `event_type` read from its `record` (as the tagged
            /// enum reads it, without building the tagged object and copying the record into
            /// it); `None` for a type not in this enum.
            pub(crate) fn typed(
                event_type: &str,
                record: &serde_json::Value,
            ) -> Option<Result<Self, serde_json::Error>> {
                match event_type {
                    $( $event_type => Some(<$record>::deserialize(record).map(Self::$variant)), )*
                    _ => None,
                }
            }
        }
    };
}

records! {
    /// `platform.initStart`: initialization of the execution environment began.
    InitStart(InitStart) = "platform.initStart",
    /// `platform.initRuntimeDone`: the runtime finished initializing.
    InitRuntimeDone(InitRuntimeDone) = "platform.initRuntimeDone",
    /// `platform.initReport`: initialization ended, with its duration.
    InitReport(InitReport) = "platform.initReport",
    /// `platform.restoreStart`: a SnapStart environment began restoring from its snapshot.
    RestoreStart(RestoreStart) = "platform.restoreStart",
    /// `platform.restoreRuntimeDone`: the runtime's after-restore hooks finished.
    RestoreRuntimeDone(RestoreRuntimeDone) = "platform.restoreRuntimeDone",
    /// `platform.restoreReport`: restoring ended, with its duration.
    RestoreReport(RestoreReport) = "platform.restoreReport",
    /// `platform.start`: an invocation began.
    Start(Start) = "platform.start",
    /// `platform.runtimeDone`: the runtime finished an invocation (called `/next` or failed).
    RuntimeDone(RuntimeDone) = "platform.runtimeDone",
    /// `platform.report`: an invocation ended, with its billed duration and memory.
    Report(Report) = "platform.report",
    /// `platform.extension`: an extension registered.
    Extension(ExtensionRecord) = "platform.extension",
    /// `platform.telemetrySubscription`: an extension subscribed to the Telemetry API.
    TelemetrySubscription(TelemetrySubscription) = "platform.telemetrySubscription",
    /// `platform.logsDropped`: Lambda dropped telemetry because a subscriber fell behind.
    LogsDropped(LogsDropped) = "platform.logsDropped",
}

impl Record {
    /// The request id of `platform.start`, `platform.runtimeDone` and `platform.report`.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Start(record) => Some(&record.request_id),
            Self::RuntimeDone(record) => Some(&record.request_id),
            Self::Report(record) => Some(&record.request_id),
            _ => None,
        }
    }
}
