//! A panic hook that records the panic on the invocation span and, when the process is about
//! to abort, ends the invocation and flushes before it does.
//!
//! Deployed functions are built with `panic = "abort"` (this workspace's release profile):
//! no `catch_unwind` runs, the process aborts right after the panic hook returns, and every
//! span of the invocation would die with it. [`install`] (called by each provider's `run` /
//! `serve`) chains a hook after the one in place (the default one prints the message):
//!
//! - on the invocation whose context is current on the panicking thread, it adds an
//!   `exception` event: `exception.type` = `panic`, `exception.message`, the code location
//!   (`code.file.path`, `code.line.number`, `code.column.number`) and, when a backtrace is
//!   enabled (`RUST_BACKTRACE`), `exception.stacktrace`;
//! - under `panic = "abort"` it then ends the spans still open under that invocation
//!   (`error.type` = `panic`), ends the invocation (error status, `error.type` = `panic`) and
//!   drains spans and metrics on a thread of its own, within the flush budget
//!   (`FAAS_OTEL_FLUSH_TIMEOUT_MS`) capped by the invocation's deadline;
//! - under `panic = "unwind"` it only records the event: the provider's outcome layer catches
//!   the panic and ends the invocation as usual (without a second exception event).
//!
//! A panic on a thread with no invocation (in a spawned task that did not carry the context,
//! during start-up) drains what is queued under `abort` and records nothing else.

use std::cell::Cell;
use std::panic::PanicHookInfo;
use std::sync::{Mutex, Once};
use std::time::SystemTime;

use opentelemetry::KeyValue;

use crate::attributes::semconv::attribute as attr;
use crate::invocation::{self, Outcome};
use crate::pipeline::{Telemetry, effective_budget};

/// `exception.type` and `error.type` of a panic.
pub const PANIC_TYPE: &str = "panic";

static TELEMETRY: Mutex<Option<Telemetry>> = Mutex::new(None);
static INSTALL: Once = Once::new();

thread_local! {
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Installs the hook once per process, chained after the hook in place, and makes `telemetry`
/// the one drained for a panic outside any invocation (a later call replaces it).
pub fn install(telemetry: &Telemetry) {
    let mut slot = match TELEMETRY.lock() {
        Ok(slot) => slot,
        Err(poisoned) => poisoned.into_inner(),
    };
    *slot = Some(telemetry.clone());
    drop(slot);
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            on_panic(info);
        }));
    });
}

/// Whether this build aborts on a panic (the hook then ends and flushes).
pub fn aborts_on_panic() -> bool {
    cfg!(panic = "abort")
}

/// The attributes of the `exception` event of a panic with `message` at `location`.
pub fn exception_attributes(
    message: &str,
    location: Option<&std::panic::Location<'_>>,
    backtrace: Option<String>,
) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new(attr::EXCEPTION_TYPE, PANIC_TYPE),
        KeyValue::new(attr::EXCEPTION_MESSAGE, message.to_owned()),
    ];
    if let Some(location) = location {
        attributes.push(KeyValue::new(
            attr::CODE_FILE_PATH,
            location.file().to_owned(),
        ));
        attributes.push(KeyValue::new(
            attr::CODE_LINE_NUMBER,
            i64::from(location.line()),
        ));
        attributes.push(KeyValue::new(
            attr::CODE_COLUMN_NUMBER,
            i64::from(location.column()),
        ));
    }
    if let Some(backtrace) = backtrace {
        attributes.push(KeyValue::new(attr::EXCEPTION_STACKTRACE, backtrace));
    }
    attributes
}

fn on_panic(info: &PanicHookInfo<'_>) {
    if IN_HOOK.with(|flag| flag.replace(true)) {
        return;
    }
    let message = info.payload_as_str().unwrap_or("panic").to_owned();
    record(&message, info.location(), aborts_on_panic());
    IN_HOOK.with(|flag| flag.set(false));
}

/// What the hook does for a panic with `message` at `location`; `aborting`: the process
/// aborts when the hook returns.
fn record(message: &str, location: Option<&std::panic::Location<'_>>, aborting: bool) {
    let current = invocation::current();
    if let Some(invocation) = &current {
        let backtrace = std::backtrace::Backtrace::capture();
        let backtrace = (backtrace.status() == std::backtrace::BacktraceStatus::Captured)
            .then(|| backtrace.to_string());
        invocation.record_exception(exception_attributes(message, location, backtrace));
    }
    if !aborting {
        return;
    }
    let deadline = current.as_ref().and_then(|i| i.deadline());
    if let Some(invocation) = &current {
        invocation.end_with_open_spans(
            Outcome::Error {
                error_type: PANIC_TYPE.to_owned(),
                message: message.to_owned(),
            },
            PANIC_TYPE,
            "the process aborted on a panic",
        );
    }
    let telemetry = match &current {
        Some(invocation) => Some(invocation.telemetry().clone()),
        None => TELEMETRY.try_lock().ok().and_then(|slot| slot.clone()),
    };
    if let Some(telemetry) = telemetry {
        let budget = effective_budget(
            telemetry.config().flush_timeout,
            deadline,
            SystemTime::now(),
        );
        let _report = telemetry.drain_blocking(budget);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_event_names_the_location() {
        let location = std::panic::Location::caller();
        let attributes = exception_attributes("boom", Some(location), None);
        let find = |key: &str| {
            attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(find(attr::EXCEPTION_TYPE), Some("panic".into()));
        assert_eq!(find(attr::EXCEPTION_MESSAGE), Some("boom".into()));
        assert_eq!(
            find(attr::CODE_FILE_PATH),
            Some(location.file().to_owned().into())
        );
        assert_eq!(
            find(attr::CODE_LINE_NUMBER),
            Some(i64::from(location.line()).into())
        );
        assert_eq!(find(attr::EXCEPTION_STACKTRACE), None);
        let with_trace = exception_attributes("boom", None, Some("trace".into()));
        assert_eq!(with_trace.len(), 3);
    }

    /// What the hook does before an abort, without aborting: ends the open spans and the
    /// invocation as panics and drains them, with no flush call.
    #[tokio::test]
    async fn before_an_abort_the_invocation_and_its_open_spans_end_and_are_drained() {
        use crate::cold_start::ColdStart;
        use crate::env::Env;
        use crate::faas_environment::LocalEnvironment;
        use crate::invocation::{Invocation, Trigger};
        use opentelemetry::trace::{Status, Tracer as _};
        use opentelemetry_sdk::trace::InMemorySpanExporter;

        let exporter = InMemorySpanExporter::default();
        let cold = Box::leak(Box::new(ColdStart::from_process()));
        let _ = cold.take();
        let telemetry = Telemetry::builder(LocalEnvironment::named("fn"))
            .with_env(Env::from_pairs([("OTEL_METRICS_EXPORTER", "none")]))
            .with_span_exporter(exporter.clone())
            .with_cold_start(cold)
            .install_global(false)
            .build()
            .unwrap();
        let span = telemetry.start_invocation(Invocation::new("fn", Trigger::Other));
        let charge = telemetry
            .tracer()
            .start_with_context("charge card", span.context());
        {
            let _current = span.context().clone().attach();
            record("card declined", Some(std::panic::Location::caller()), true);
        }
        assert!(span.is_ended());
        let spans = exporter.get_finished_spans().unwrap();
        assert_eq!(spans.len(), 2, "drained by the hook");
        let invocation = spans.iter().find(|s| s.name == "fn").unwrap();
        assert_eq!(invocation.status, Status::error("card declined"));
        assert!(
            invocation
                .attributes
                .contains(&KeyValue::new(attr::ERROR_TYPE, "panic"))
        );
        assert_eq!(invocation.events.len(), 1);
        let open = spans.iter().find(|s| s.name == "charge card").unwrap();
        assert_eq!(open.status, Status::error("the process aborted on a panic"));
        assert!(
            open.attributes
                .contains(&KeyValue::new(attr::ERROR_TYPE, "panic"))
        );
        drop(charge);
        span.end(Outcome::Ok);
        telemetry.flush(None).await;
        assert_eq!(exporter.get_finished_spans().unwrap().len(), 2);
    }
}
