//! The state the receiver, the Telemetry API listener and the lifecycle share.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tokio::sync::Notify;

use super::buffer::Buffer;
use super::config::ExtensionConfig;
use crate::extension::keep::KeepRules;
use crate::extension::platform_telemetry::PlatformTelemetry;

/// How many request ids are remembered as "the function's data arrived" / "runtime done".
const REMEMBERED: usize = 256;

/// Locks `mutex`, recovering the data if a panicking holder poisoned it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A bounded set of recent request ids.
#[derive(Debug, Default)]
pub struct RecentIds(VecDeque<String>);

impl RecentIds {
    /// Remembers `id`, forgetting the oldest beyond the bound.
    pub fn insert(&mut self, id: String) {
        if !self.0.contains(&id) {
            if self.0.len() == REMEMBERED {
                self.0.pop_front();
            }
            self.0.push_back(id);
        }
    }

    /// Whether `id` is remembered.
    pub fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|x| x == id)
    }
}

/// Everything shared.
#[derive(Debug)]
pub struct Shared {
    /// Settings.
    pub config: ExtensionConfig,
    /// The data waiting for export.
    pub buffer: Mutex<Buffer>,
    /// Platform events to spans and metrics.
    pub platform: Mutex<PlatformTelemetry>,
    /// The keep rules.
    pub keep: Mutex<KeepRules>,
    /// Request ids whose invocation span (`faas.invocation_id`) arrived.
    pub seen: Mutex<RecentIds>,
    /// Request ids whose `platform.runtimeDone` arrived.
    pub runtime_done: Mutex<RecentIds>,
    /// Woken whenever data or platform events arrive.
    pub arrived: Notify,
}

impl Shared {
    /// The shared state for `config`.
    pub fn new(config: ExtensionConfig, platform: PlatformTelemetry, keep: KeepRules) -> Self {
        Self {
            buffer: Mutex::new(Buffer::new(config.memory_limit)),
            config,
            platform: Mutex::new(platform),
            keep: Mutex::new(keep),
            seen: Mutex::default(),
            runtime_done: Mutex::default(),
            arrived: Notify::new(),
        }
    }

    /// Whether the function's data for `request_id` is in: its invocation span arrived or the
    /// runtime finished the invocation.
    pub fn invocation_arrived(&self, request_id: &str) -> bool {
        lock(&self.seen).contains(request_id) || lock(&self.runtime_done).contains(request_id)
    }
}

/// Every `faas.invocation_id` value on a span of `request`.
pub fn invocation_ids(request: &ExportTraceServiceRequest) -> Vec<String> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .flat_map(|span| &span.attributes)
        .filter(|kv| kv.key == "faas.invocation_id")
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(id) => Some(id.clone()),
            _ => None,
        })
        .collect()
}
