//! [`prepare`]: the platform's spans and metrics into the buffer, tail sampling applied.

use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

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
        let mut merged = ExportTraceServiceRequest::default();
        let taken = buffer.take();
        for request in taken.traces {
            merged.resource_spans.extend(request.resource_spans);
        }
        let platform = lock(&shared.platform);
        let outcome_of = |id: &str| platform.outcome(id);
        let (kept, _stats) = sampler.filter(merged, &outcome_of, SystemTime::now());
        buffer.push_traces(kept);
        for request in taken.metrics {
            buffer.push_metrics(request);
        }
        for request in taken.logs {
            buffer.push_logs(request);
        }
    }
}
