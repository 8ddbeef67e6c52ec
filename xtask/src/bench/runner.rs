//! Runs a benchmark function under the emulator: sequential invocations with their timings,
//! and cold starts.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use lambda_emulator::{Emulator, FunctionSpec, InvokeOptions};

/// One of the three builds of the same handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The example binary.
    pub binary: &'static str,
    /// How the report names it.
    pub label: &'static str,
}

/// The bare `lambda_runtime` function: the baseline.
pub const BARE: Variant = Variant {
    binary: "bench-bare",
    label: "bare lambda_runtime (baseline)",
};

/// The same handler under `faas_aws::run`.
pub const FAAS: Variant = Variant {
    binary: "bench-faas",
    label: "faas-aws (`faas_aws::run`)",
};

/// The same handler with the `lambda_runtime` OpenTelemetry recipe.
pub const UPSTREAM: Variant = Variant {
    binary: "bench-upstream",
    label: "upstream recipe (OpenTelemetryLayer + batch exporter + force_flush)",
};

/// The timings of a run of sequential invocations.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Invoke to response, as the caller sees it.
    pub round_trip: Vec<Duration>,
    /// Invoke to environment idle again (runtime back in `next`): what each invocation costs
    /// a sequential caller, and what Lambda bills from delivery on.
    pub cycle: Vec<Duration>,
    /// Wall-clock time of the measured invocations.
    pub wall: Duration,
    /// Invocations that failed.
    pub errors: usize,
    /// Peak `maxMemoryUsedMB` reported.
    pub max_memory_mb: u64,
}

impl Run {
    /// Invocations per second over the measured part.
    pub fn per_second(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            self.cycle.len() as f64 / secs
        } else {
            f64::NAN
        }
    }
}

/// The spec of `variant` from `bin_dir`, exporting to `endpoint`.
fn spec(bin_dir: &Path, variant: Variant, endpoint: &str) -> Result<FunctionSpec> {
    let binary = bin_dir.join(variant.binary);
    if !binary.is_file() {
        bail!(
            "{} is missing: build it with `cargo build --release -p examples --bin {}`",
            binary.display(),
            variant.binary
        );
    }
    let mut spec = FunctionSpec::new(binary);
    spec.timeout = Duration::from_secs(60);
    spec.env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint.into()),
        (
            "OTEL_SERVICE_NAME".into(),
            format!("bench-{}", variant.binary),
        ),
    ];
    Ok(spec)
}

/// A sampled W3C parent for invocation `i`, as an instrumented caller would send.
fn traceparent(i: usize) -> String {
    format!(
        "00-{:032x}-{:016x}-01",
        0x5eed_0000_0000_0000_u128 + i as u128 + 1,
        i as u64 + 1
    )
}

/// Starts `variant`, runs `warmup` then `n` sequential invocations (each waits for the
/// environment to be idle again), and stops it.
pub fn invocations(
    bin_dir: &Path,
    log: &Path,
    variant: Variant,
    endpoint: &str,
    warmup: usize,
    n: usize,
) -> Result<Run> {
    let emulator = Emulator::start(variant.binary)?;
    emulator.log_to(log)?;
    emulator.spawn(spec(bin_dir, variant, endpoint)?)?;
    emulator
        .wait_ready(Duration::from_secs(30))
        .with_context(|| format!("{} did not start", variant.binary))?;
    let mut run = Run::default();
    let mut started = Instant::now();
    for i in 0..warmup + n {
        if i == warmup {
            started = Instant::now();
        }
        let options = InvokeOptions {
            traceparent: Some(traceparent(i)),
            client_context: None,
        };
        let result = emulator.invoke(format!("{{\"n\":{i}}}").as_bytes(), options)?;
        let report = emulator.wait_report(&result.request_id, Duration::from_secs(120))?;
        if i < warmup {
            continue;
        }
        if result.error.is_some() {
            run.errors += 1;
        }
        run.round_trip.push(result.timings.round_trip());
        run.cycle
            .push(report.idle.saturating_duration_since(result.timings.queued));
        run.max_memory_mb = run.max_memory_mb.max(report.max_memory_used_mb);
    }
    run.wall = started.elapsed();
    emulator.shutdown()?;
    Ok(run)
}

/// `runs` cold starts of `variant` (exec to first `next`), after one unmeasured start that
/// warms the page cache.
pub fn cold_starts(
    bin_dir: &Path,
    log: &Path,
    variant: Variant,
    endpoint: &str,
    runs: usize,
) -> Result<Vec<Duration>> {
    let mut sample = Vec::with_capacity(runs);
    for i in 0..=runs {
        let emulator = Emulator::start(variant.binary)?;
        emulator.log_to(log)?;
        emulator.spawn(spec(bin_dir, variant, endpoint)?)?;
        let cold = emulator
            .wait_ready(Duration::from_secs(30))
            .with_context(|| format!("{} did not start", variant.binary))?;
        if i > 0 {
            sample.push(cold);
        }
        emulator.shutdown()?;
    }
    Ok(sample)
}
