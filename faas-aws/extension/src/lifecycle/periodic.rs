//! [`periodic_exporter`]: the background export of periodic mode.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::forward::Forwarder;
use crate::lock::lock;
use crate::state::Shared;

use super::export_pace::ExportPace;

/// How often the background exporter looks.
const TICK: Duration = Duration::from_millis(50);

/// In periodic mode (high invocation rates, so the environment is not frozen between
/// invocations) exports in the background whenever the interval is due or a quarter of the
/// memory cap is in use; outside it does nothing (exports follow each invocation).
pub(crate) async fn periodic_exporter(
    shared: Arc<Shared>,
    forwarder: Arc<Forwarder>,
    pace: Arc<Mutex<ExportPace>>,
) {
    loop {
        tokio::time::sleep(TICK).await;
        let now = Instant::now();
        let held = lock(&shared.buffer).bytes();
        let go = {
            let pace = lock(&pace);
            pace.is_periodic()
                && held > 0
                && (held >= shared.config.memory_limit / 4
                    || pace.due(now, shared.config.export_interval))
        };
        if go {
            let deadline = now.checked_add(shared.config.export_timeout).unwrap_or(now);
            forwarder.export(&shared, deadline).await;
            lock(&pace).exported(Instant::now());
        }
    }
}
