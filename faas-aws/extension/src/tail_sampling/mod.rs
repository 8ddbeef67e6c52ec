//! Tail sampling: "record everything in the function, let the extension decide what leaves"
//! (called "keep rules" before; the `FAAS_OTEL_EXTENSION_KEEP*` variables keep that name).
//!
//! With `FAAS_OTEL_EXTENSION_KEEP=decide`, `TailSampler::filter` looks at each trace of an
//! OTLP request (all its spans in the request) and keeps it **whole** when any of these holds:
//!
//! 1. a span has status ERROR;
//! 2. a span's `faas.invocation_id` is an invocation the platform reported as an error,
//!    failure or timeout (the `outcome_of` callback, e.g.
//!    [`PlatformTelemetry::outcome`](crate::PlatformTelemetry::outcome));
//! 3. a span has `faas.coldstart = true`;
//! 4. the trace's spans cover at least the slow threshold (latest end − earliest start,
//!    which is at least the invocation span's duration; `FAAS_OTEL_EXTENSION_KEEP_SLOW_MS`,
//!    default 1000 ms).
//!
//! The other traces are sampled to about `FAAS_OTEL_EXTENSION_KEEP_RATE` traces per second
//! (default 1): each such new trace is counted in a [`RateMeter`](faas_core::sampling::RateMeter) (10 s sliding window, see
//! there), the probability is `min(1, rate / measured rate)` as in faas-core's
//! [`AdaptiveSampler`](faas_core::sampling::AdaptiveSampler), computed once per request after counting its new traces, and the
//! decision is the SDK's `TraceIdRatioBased` decision at that probability: a pure function of
//! the trace id. Below the target rate everything is kept.
//!
//! Every decision is remembered per trace id (the last 4096), so spans of a
//! trace arriving in a later request get the first decision, even if they would now match a
//! rule: traces are kept or dropped whole, never partially.
//!
//! # With head sampling
//!
//! The extension can only keep what reaches it. The function must record and export every
//! trace: `OTEL_TRACES_SAMPLER=parentbased_always_on` (the default) or `always_on`. A trace
//! that a head sampler dropped (a `traceidratio` or `faas_otel_adaptive` sampler, or an
//! unsampled parent under a parent-based one) never reaches the extension, errors included.
//!
//! Each function decides on its own: a downstream function's extension sees only that
//! function's spans. The rate part is deterministic on the trace id, so functions with the same
//! settings agree (a trace kept at probability `p` is kept at any higher probability, so
//! functions under less load keep a superset); the error, outcome, cold-start and slow parts are
//! local to each function, so a trace may be kept for an error in one function and dropped in
//! another.
//!
//! The outcome of an invocation is known from `platform.runtimeDone`, which Lambda sends after
//! the function exported its spans: to use rule 2 for the current invocation, hold its spans
//! until that event (timeouts rarely leave spans otherwise; errors also set status ERROR on the
//! invocation span, which rule 1 catches).

mod decision;
mod rate;
mod sampler;
mod settings;
mod trace_summary;

pub(crate) use sampler::TailSampler;
