//! The spans made from platform events: `platform init`, `platform restore` and
//! `platform invoke`.

use std::time::{Duration, SystemTime};

use faas_core::attributes;
use faas_core::cost::{Architecture, BillingInput, CostModel};
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue as ProtoKeyValue;
use opentelemetry_proto::tonic::trace::v1::{Span, Status as ProtoStatus, span, status};
use opentelemetry_semantic_conventions::attribute as attr;

use crate::otlp;

use super::invoke_records::Report;
use super::values::Status;

/// Name of the span of the execution environment's initialization as Lambda reports it
/// (`platform.initStart` to `platform.initReport`). Distinct from faas-core's `faas init`,
/// which the function records itself from its own process start.
pub const INIT_SPAN_NAME: &str = "platform init";
/// Name of the span of a SnapStart restore (`platform.restoreStart` to
/// `platform.restoreReport`).
pub(crate) const RESTORE_SPAN_NAME: &str = "platform restore";
/// Name of the span of one invocation as Lambda reports it (`platform.start` to
/// `platform.report`), a sibling of the function's own invocation span.
pub const INVOKE_SPAN_NAME: &str = "platform invoke";

const BYTES_PER_MB: u64 = 1024 * 1024;

/// A finished span whose trace is not decided yet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnplacedSpan {
    /// The span's name.
    pub(crate) name: &'static str,
    /// Start time.
    pub(crate) start: SystemTime,
    /// End time.
    pub(crate) end: SystemTime,
    /// Attributes.
    pub(crate) attributes: Vec<ProtoKeyValue>,
    /// Status.
    pub(crate) status: ProtoStatus,
}

impl UnplacedSpan {
    /// The span in trace `trace_id` with id `span_id`, under `parent` (root when `None`).
    pub(crate) fn place(
        self,
        trace_id: [u8; 16],
        span_id: [u8; 8],
        parent: Option<[u8; 8]>,
    ) -> Span {
        Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_vec(),
            trace_state: String::new(),
            parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
            flags: 0,
            name: self.name.to_owned(),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: otlp::unix_nanos(self.start),
            end_time_unix_nano: otlp::unix_nanos(self.end),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Some(self.status),
        }
    }
}

/// `error.type` for a phase or invocation that ended with `status`: none on success,
/// `timeout` on timeout, otherwise the platform's `errorType` or, without one, the status
/// (`error`, `failure`, ...).
pub(crate) fn error_type(status: &Status, error_type: Option<&str>) -> Option<String> {
    match status {
        Status::Success => None,
        Status::Timeout => Some("timeout".to_owned()),
        other => Some(error_type.unwrap_or(other.as_str()).to_owned()),
    }
}

/// OK on success, otherwise ERROR with the platform's `errorType` as message.
fn span_status(status: &Status, error_type: Option<&str>) -> ProtoStatus {
    if status.is_success() {
        ProtoStatus {
            message: String::new(),
            code: status::StatusCode::Ok as i32,
        }
    } else {
        ProtoStatus {
            message: error_type.unwrap_or_default().to_owned(),
            code: status::StatusCode::Error as i32,
        }
    }
}

/// What an initialization or restore span is made of.
#[derive(Debug, Clone)]
pub(crate) struct PhaseReport<'a> {
    /// [`INIT_SPAN_NAME`] or [`RESTORE_SPAN_NAME`].
    pub(crate) name: &'static str,
    /// When the phase started.
    pub(crate) start: SystemTime,
    /// How long it took.
    pub(crate) duration: Duration,
    /// `faas_otel.init.type`.
    pub(crate) initialization_type: &'a str,
    /// `faas_otel.init.phase`.
    pub(crate) phase: &'a str,
    /// How it ended.
    pub(crate) status: &'a Status,
    /// The platform's `errorType`.
    pub(crate) error_type: Option<&'a str>,
}

/// The span of an initialization or restore: attributes `faas_otel.init.type`,
/// `faas_otel.init.phase`, `faas_otel.init.duration_s`, `faas.coldstart = true`, and
/// `error.type` with status ERROR when it did not succeed.
pub(crate) fn phase_span(report: &PhaseReport<'_>) -> UnplacedSpan {
    let mut kvs = vec![
        KeyValue::new(attributes::INIT_TYPE, report.initialization_type.to_owned()),
        KeyValue::new(attributes::INIT_PHASE, report.phase.to_owned()),
        KeyValue::new(attributes::INIT_DURATION_S, report.duration.as_secs_f64()),
        KeyValue::new(attr::FAAS_COLDSTART, true),
    ];
    if let Some(error) = error_type(report.status, report.error_type) {
        kvs.push(KeyValue::new(attr::ERROR_TYPE, error));
    }
    UnplacedSpan {
        name: report.name,
        start: report.start,
        end: otlp::plus(report.start, report.duration),
        attributes: otlp::attributes(kvs),
        status: span_status(report.status, report.error_type),
    }
}

/// The span of one invocation from its `platform.report`, starting at `start`.
///
/// Attributes: `faas.invocation_id`, `faas.max_memory` (bytes), `faas_otel.memory.max_used_bytes`,
/// the cost attributes of `cost_model` estimated for the billed duration (so the estimate uses
/// what Lambda really billed) with `faas_otel.cost.billed_duration_ms` set to Lambda's own
/// `billedDurationMs` (the memory and cost attributes only when the report has them: Lambda
/// Managed Instances report the duration alone), `faas.coldstart = true` when the report carries `initDurationMs` or
/// `restoreDurationMs`, and `error.type` when the invocation did not succeed.
pub(crate) fn invoke_span(
    report: &Report,
    start: SystemTime,
    cost_model: Option<&dyn CostModel>,
    architecture: Architecture,
) -> UnplacedSpan {
    let metrics = &report.metrics;
    let bytes = |mb: u64| i64::try_from(mb.saturating_mul(BYTES_PER_MB)).unwrap_or(i64::MAX);
    let mut kvs = vec![KeyValue::new(
        attr::FAAS_INVOCATION_ID,
        report.request_id.clone(),
    )];
    if let Some(memory_mb) = metrics.memory_size_mb {
        kvs.push(KeyValue::new(attr::FAAS_MAX_MEMORY, bytes(memory_mb)));
    }
    if let Some(used_mb) = metrics.max_memory_used_mb {
        kvs.push(KeyValue::new(
            attributes::MEMORY_MAX_USED_BYTES,
            bytes(used_mb),
        ));
    }
    // Lambda Managed Instances report no billed duration (the instances are billed as EC2
    // capacity): no cost attributes then.
    if let Some(billed) = metrics.billed_duration_ms {
        let billed_ms = i64::try_from(billed).unwrap_or(i64::MAX);
        match (cost_model, metrics.memory_size_mb) {
            (Some(model), Some(memory_mb)) => {
                let input = BillingInput::new(Duration::from_millis(billed), memory_mb)
                    .with_architecture(architecture);
                kvs.extend(model.estimate(&input).attributes().into_iter().map(|kv| {
                    if kv.key.as_str() == attributes::COST_BILLED_DURATION_MS {
                        KeyValue::new(attributes::COST_BILLED_DURATION_MS, billed_ms)
                    } else {
                        kv
                    }
                }));
            }
            _ => kvs.push(KeyValue::new(
                attributes::COST_BILLED_DURATION_MS,
                billed_ms,
            )),
        }
    }
    if metrics.init_duration_ms.is_some() || metrics.restore_duration_ms.is_some() {
        kvs.push(KeyValue::new(attr::FAAS_COLDSTART, true));
    }
    if let Some(error) = error_type(&report.status, report.error_type.as_deref()) {
        kvs.push(KeyValue::new(attr::ERROR_TYPE, error));
    }
    UnplacedSpan {
        name: INVOKE_SPAN_NAME,
        start,
        end: otlp::plus(start, otlp::millis(metrics.duration_ms)),
        attributes: otlp::attributes(kvs),
        status: span_status(&report.status, report.error_type.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_per_status() {
        assert_eq!(error_type(&Status::Success, Some("x")), None);
        assert_eq!(
            error_type(&Status::Timeout, Some("Sandbox.Timedout")).as_deref(),
            Some("timeout")
        );
        assert_eq!(error_type(&Status::Error, None).as_deref(), Some("error"));
        assert_eq!(
            error_type(&Status::Error, Some("Handled")).as_deref(),
            Some("Handled")
        );
        assert_eq!(
            error_type(&Status::Failure, None).as_deref(),
            Some("failure")
        );
        assert_eq!(
            error_type(&Status::Other("cancelled".into()), None).as_deref(),
            Some("cancelled")
        );
    }
}
