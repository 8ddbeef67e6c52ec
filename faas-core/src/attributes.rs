//! Names this project defines: its attribute prefix, its environment-variable prefix and the
//! attributes OpenTelemetry does not define.
//!
//! Everything OpenTelemetry defines is taken from `opentelemetry-semantic-conventions`
//! (re-exported as [`semconv`]). Everything else lives under [`PREFIX`] (attributes) and
//! [`ENV_PREFIX`] (environment variables), never inside `faas.*` or `cloud.*`.

/// The OpenTelemetry semantic conventions this project is pinned to.
pub use opentelemetry_semantic_conventions as semconv;

/// Prefix of every attribute this project defines itself.
pub const PREFIX: &str = "faas_otel.";

/// Prefix of every environment variable this project reads besides the standard `OTEL_*` ones.
pub const ENV_PREFIX: &str = "FAAS_OTEL_";

/// Estimated cost of the invocation in US dollars (compute plus request charge).
pub const COST_USD: &str = "faas_otel.cost.usd";
/// The compute part of [`COST_USD`] (GB-seconds and vCPU-seconds).
pub const COST_COMPUTE_USD: &str = "faas_otel.cost.compute_usd";
/// The per-request part of [`COST_USD`].
pub const COST_REQUEST_USD: &str = "faas_otel.cost.request_usd";
/// The duration the estimate bills, in milliseconds, after the provider's rounding.
pub const COST_BILLED_DURATION_MS: &str = "faas_otel.cost.billed_duration_ms";
/// The memory the estimate bills, in megabytes, after the provider's rounding.
pub const COST_BILLED_MEMORY_MB: &str = "faas_otel.cost.billed_memory_mb";
/// The processor architecture the estimate priced (`x86_64` or `arm64`).
pub const COST_ARCHITECTURE: &str = "faas_otel.cost.architecture";

/// How the execution environment was initialized (`on-demand`, `provisioned-concurrency`,
/// `snap-start`, ...), on the initialization span and the first invocation.
pub const INIT_TYPE: &str = "faas_otel.init.type";
/// Name of one phase of initialization, on a phase span.
pub const INIT_PHASE: &str = "faas_otel.init.phase";
/// Duration of initialization in seconds, from process start to the first invocation.
pub const INIT_DURATION_S: &str = "faas_otel.init.duration_s";
/// Whether the duration of initialization includes the time before `main` (read from the
/// operating system's process start time) or only starts at the first measurement.
pub const INIT_INCLUDES_RUNTIME_START: &str = "faas_otel.init.includes_runtime_start";

/// Set on an invocation span when the invocation was a warm-up ping, not user traffic.
pub const WARMUP: &str = "faas_otel.warmup";
/// Number of spans the previous flush had to drop, when it dropped any.
pub const FLUSH_DROPPED_SPANS: &str = "faas_otel.flush.dropped_spans";
/// Why trace context could not be injected into an outgoing message or request.
pub const PROPAGATION_SKIPPED: &str = "faas_otel.propagation.skipped";

/// Most memory the execution environment used during the invocation, in bytes (Lambda's
/// `maxMemoryUsedMB` × 1,048,576), on the `platform invoke` span of the Lambda extension.
pub const MEMORY_MAX_USED_BYTES: &str = "faas_otel.memory.max_used_bytes";
