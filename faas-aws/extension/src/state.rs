//! [`Shared`]: the state the receivers, the Telemetry API listener, the forwarder and the
//! lifecycle share.

use std::sync::Mutex;

use tokio::sync::Notify;

use crate::buffer::Buffer;
use crate::config::ExtensionConfig;
use crate::drops::Drops;
use crate::function_logs::FunctionLogs;
use crate::lock::lock;
use crate::platform_events::PlatformTelemetry;
use crate::recent_ids::RecentIds;
use crate::tail_sampling::TailSampler;

/// Everything shared, each part behind its own lock.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Settings.
    pub(crate) config: ExtensionConfig,
    /// The data waiting for export.
    pub(crate) buffer: Mutex<Buffer>,
    /// Platform events to spans and metrics.
    pub(crate) platform: Mutex<PlatformTelemetry>,
    /// The tail sampler.
    pub(crate) sampler: Mutex<TailSampler>,
    /// Function log lines from the Telemetry API, held until their invocation's trace is known.
    pub(crate) logs: Mutex<FunctionLogs>,
    /// Request ids whose invocation span (`faas.invocation_id`) arrived.
    pub(crate) seen: Mutex<RecentIds>,
    /// Request ids whose `platform.runtimeDone` arrived.
    pub(crate) runtime_done: Mutex<RecentIds>,
    /// Woken whenever data or platform events arrive.
    pub(crate) arrived: Notify,
    /// Drops other than the memory cap's (which the buffer counts): refused or rejected
    /// upstream, too large, tail sampling, the platform's `logsDropped`. Bump with
    /// [`Drops::add`]; the next export reports them upstream.
    pub(crate) drops: Drops,
    /// Wakes the background exporter to export what is held now (at the start of an
    /// invocation, while the function runs); see `lifecycle::periodic`.
    pub(crate) export_soon: Notify,
}

impl Shared {
    /// The shared state for `config`.
    pub(crate) fn new(
        config: ExtensionConfig,
        platform: PlatformTelemetry,
        sampler: TailSampler,
    ) -> Self {
        Self {
            buffer: Mutex::new(Buffer::new(config.memory_limit)),
            logs: Mutex::new(FunctionLogs::new(
                (config.logs.function, config.logs.extension),
                config.memory_limit / 4,
            )),
            config,
            platform: Mutex::new(platform),
            sampler: Mutex::new(sampler),
            seen: Mutex::default(),
            runtime_done: Mutex::default(),
            arrived: Notify::new(),
            drops: Drops::default(),
            export_soon: Notify::new(),
        }
    }

    /// Whether the function's data for `request_id` is in: its invocation span arrived or the
    /// runtime finished the invocation.
    pub(crate) fn invocation_arrived(&self, request_id: &str) -> bool {
        lock(&self.seen).contains(request_id) || lock(&self.runtime_done).contains(request_id)
    }
}
