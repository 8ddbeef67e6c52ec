//! [`prepare`]: the platform's spans and metrics into the buffer, tail sampling applied.

use std::time::SystemTime;

use crate::buffer::sample_traces;
use crate::drops::{DropReason, Signal};
use crate::lock::lock;
use crate::state::Shared;

/// Moves the platform spans and metrics into the buffer and, when tail sampling is on, keeps
/// or drops each buffered trace whole.
pub(crate) fn prepare(shared: &Shared) {
    crate::function_logs::release(&shared.platform, &shared.logs, &shared.buffer, false);
    let (spans, metrics) = {
        let mut platform = lock(&shared.platform);
        (platform.take_spans(), platform.take_metrics())
    };
    let mut buffer = lock(&shared.buffer);
    if let Some(spans) = spans {
        buffer.push_traces(spans);
    }
    if let Some(metrics) = metrics {
        buffer.push_metrics(metrics);
    }
    let mut sampler = lock(&shared.sampler);
    if sampler.is_enabled() && !buffer.traces.is_empty() {
        let platform = lock(&shared.platform);
        let outcome_of = |id: &str| platform.outcome(id);
        let dropped = sample_traces(&mut buffer, &mut sampler, &outcome_of, SystemTime::now());
        if dropped > 0 {
            shared
                .drops
                .add(Signal::Spans, DropReason::TailSampling, dropped);
        }
    }
}
