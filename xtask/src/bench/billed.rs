//! Section 7 of `cargo xtask bench` (`--only billed` runs it alone): the billed cycle, what a
//! Lambda user pays per invocation, end to end under the emulator.
//!
//! Billed cycle = the emulator's `platform.report` `durationMs`: from the runtime receiving the
//! invocation to the environment idle again, i.e. the LATER of the function's and every
//! extension's next `/next` after the response ([`billed_cycle`]). Variants ([`VARIANTS`]): the
//! bare function; `bench-faas` + our extension once per `FAAS_OTEL_EXTENSION_FLUSH`; the
//! function exporting straight to the upstream (ours and the upstream recipe); `bench-faas`
//! exporting to `rotel-agent` on loopback, forwarding to the same upstream; the bare function
//! beside a registered extension that does nothing (what being an extension costs); the bare
//! function with its loop on a worker thread, as `faas_aws::run` places it (what that placement
//! saves apart from the tracing, [`BARE_ON_WORKER`]) and the recipe placed the same way
//! ([`RECIPE_ON_WORKER`]). Each against an
//! upstream that answers after [`SLOW_UPSTREAM`] and one that answers at once
//! ([`DelayedUpstream`]).
//!
//! Noise defence: in each round every variant's environment is started, and their invocations
//! are interleaved in short blocks (A B C … A B C …, [`interleave`]); each round's added time is
//! against the bare function of the same round, and the report gives the median of the
//! per-round ratios with their min–max.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::billed_upstream::DelayedUpstream;
use crate::servers::free_port;
use lambda_emulator::{Emulator, FunctionSpec, InvokeOptions, Report};

/// The slow upstream's answer delay.
pub const SLOW_UPSTREAM: Duration = Duration::from_millis(30);

/// What sits between the function and the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Nothing: the function does not export (the bare baseline).
    None,
    /// The function exports straight to the upstream.
    Direct,
    /// Our extension, with this `FAAS_OTEL_EXTENSION_FLUSH`.
    Extension(&'static str),
    /// `rotel-agent` as a local collector (a plain process, not a registered extension).
    Rotel,
    /// Nothing exported; `bench-noop-extension` registered beside the function: the cost of
    /// any registered extension (an INVOKE delivered and a `/next` per invocation).
    NoopExtension,
}

/// One billed-cycle variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// Short name in the tables.
    pub name: &'static str,
    /// The example binary.
    pub binary: &'static str,
    /// What it exports through.
    pub route: Route,
    /// Extra variables of the function.
    pub env: &'static [(&'static str, &'static str)],
}

/// The variable that makes `bench-bare` run `lambda_runtime`'s loop as a task on a tokio
/// worker thread (`worker`) instead of on the main thread, as `faas_aws::run` does.
pub const LOOP_VARIABLE: &str = "FAAS_OTEL_BENCH_LOOP";

/// The bare baseline is first; every round runs them in this order.
pub const VARIANTS: [Variant; 10] = [
    Variant {
        name: "bare",
        binary: "bench-bare",
        route: Route::None,
        env: &[],
    },
    Variant {
        name: "faas + extension (end)",
        binary: "bench-faas",
        route: Route::Extension("end"),
        env: &[],
    },
    Variant {
        name: "faas + extension (periodic)",
        binary: "bench-faas",
        route: Route::Extension("periodic"),
        env: &[],
    },
    Variant {
        name: "faas + extension (adaptive, default)",
        binary: "bench-faas",
        route: Route::Extension("adaptive"),
        env: &[],
    },
    Variant {
        name: "faas direct",
        binary: "bench-faas",
        route: Route::Direct,
        env: &[],
    },
    Variant {
        name: "upstream recipe direct",
        binary: "bench-upstream",
        route: Route::Direct,
        env: &[],
    },
    Variant {
        name: "faas + rotel-agent",
        binary: "bench-faas",
        route: Route::Rotel,
        env: &[],
    },
    Variant {
        name: "bare + no-op extension",
        binary: "bench-bare",
        route: Route::NoopExtension,
        env: &[],
    },
    Variant {
        name: "bare, loop on a worker",
        binary: "bench-bare",
        route: Route::None,
        env: &[(LOOP_VARIABLE, "worker")],
    },
    Variant {
        name: "upstream recipe direct, loop on a worker",
        binary: "bench-upstream",
        route: Route::Direct,
        env: &[(LOOP_VARIABLE, "worker")],
    },
];

/// The index in [`VARIANTS`] of the bare function whose loop runs on a worker thread, as
/// `faas_aws::run`'s does: the baseline that separates what the tracing costs from what that
/// placement saves.
pub const BARE_ON_WORKER: usize = 8;

/// The index in [`VARIANTS`] of the upstream recipe with its loop on a worker thread: with
/// [`BARE_ON_WORKER`], the like-for-like ratio (both tracings in `faas_aws::run`'s placement).
pub const RECIPE_ON_WORKER: usize = 9;

/// The index in [`VARIANTS`] of the upstream recipe, the ratios' denominator.
pub const RECIPE: usize = 5;

/// Iteration counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Rounds of every variant.
    pub rounds: usize,
    /// Unmeasured invocations at the start of each run (adaptive turns periodic after 10).
    pub warmup: usize,
    /// Measured invocations of each run.
    pub invocations: usize,
}

/// The full run.
pub const FULL: Plan = Plan {
    rounds: 5,
    warmup: 20,
    invocations: 100,
};

/// `--quick`.
pub const QUICK: Plan = Plan {
    rounds: 2,
    warmup: 12,
    invocations: 10,
};

/// The billed cycle of one invocation from its report: delivery to the later of the runtime's
/// and the extensions' next `/next` (the emulator's idle instant).
pub fn billed_cycle(report: &Report) -> Duration {
    report.idle.saturating_duration_since(report.delivered)
}

/// One run of one variant in one round.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Billed cycle of each measured invocation.
    pub billed: Vec<Duration>,
    /// Wall time of the measured invocations: each from the invoke to its report.
    pub wall: Duration,
    /// The first report's `initDurationMs`: init start to the runtime AND every extension at
    /// their first `/next`.
    pub init: Option<Duration>,
    /// Exec of the runtime to its first `/next`.
    pub runtime_ready: Duration,
    /// Invocations run (warm-up included).
    pub invoked: u64,
    /// Spans that reached the upstream by the end of SHUTDOWN, by name.
    pub delivered: BTreeMap<String, u64>,
    /// Function errors.
    pub errors: usize,
    /// Trace requests the upstream could not read as OTLP.
    pub malformed: u64,
    /// Requests that reached the upstream, by path.
    pub requests: BTreeMap<String, u64>,
}

impl Run {
    /// Measured invocations per second.
    pub fn per_second(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            self.billed.len() as f64 / secs
        } else {
            f64::NAN
        }
    }

    /// Spans delivered that the function sent (its invocation spans, named after the function;
    /// the extension's own `platform …` spans are not counted).
    pub fn function_spans(&self, function_span: &str) -> u64 {
        self.delivered.get(function_span).copied().unwrap_or(0)
    }
}

/// Where the binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `target/release`, with the bench functions.
    pub release: PathBuf,
    /// The extension's release binary (`target/extension/faas-otel-extension`).
    pub extension: PathBuf,
    /// `rotel-agent`, when the bench venv has it.
    pub rotel: Option<PathBuf>,
    /// Function output.
    pub log: PathBuf,
}

/// The emulator's function name, which is also the name of the function's invocation span.
pub const FUNCTION_NAME: &str = "billed";

/// A rotel-agent we started, killed on drop.
struct RotelChild(Child);

impl Drop for RotelChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_rotel(agent: &Path, port: u16, upstream: &str, log: &Path) -> Result<RotelChild> {
    let child = super::rotel_agent::spawn(agent, port, upstream, log, "rotel-billed", &[])?;
    let rotel = RotelChild(child);
    let addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            bail!("rotel-agent did not listen on {addr} within 10 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(rotel)
}

/// The release binary `name` (each is the binary of the package of the same name), or an
/// error saying how to build it.
fn release_binary(bins: &Binaries, name: &str) -> Result<PathBuf> {
    existing(
        bins.release.join(name),
        &format!("cargo build --release -p {name}"),
    )
}

/// `binary` when it is a file, or an error naming the command that builds it.
fn existing(binary: PathBuf, build: &str) -> Result<PathBuf> {
    if !binary.is_file() {
        bail!("{} is missing: `{build}`", binary.display());
    }
    Ok(binary)
}

/// A variant started and ready for invocations: its environment, and rotel-agent when it
/// exports through it.
pub struct Live {
    variant: Variant,
    emulator: Emulator,
    rotel: Option<RotelChild>,
    run: Run,
    before: Counts,
}

/// The upstream's counters when a run started, so that the run's own are the difference.
struct Counts {
    spans: BTreeMap<String, u64>,
    malformed: u64,
    requests: BTreeMap<String, u64>,
}

impl Counts {
    fn of(upstream: &DelayedUpstream) -> Self {
        Self {
            spans: upstream.spans_by_name(),
            malformed: upstream.malformed(),
            requests: upstream.requests_by_path(),
        }
    }
}

impl Live {
    /// Starts `variant` exporting to `upstream` and waits until its runtime is ready.
    pub fn start(bins: &Binaries, variant: Variant, upstream: &DelayedUpstream) -> Result<Self> {
        let binary = release_binary(bins, variant.binary)?;
        let before = Counts::of(upstream);
        let mut spec = FunctionSpec::new(binary);
        spec.timeout = Duration::from_secs(60);
        spec.env = vec![(
            "OTEL_SERVICE_NAME".into(),
            format!("billed-{}", variant.binary),
        )];
        spec.env.extend(
            variant
                .env
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string())),
        );
        let mut rotel = None;
        match variant.route {
            Route::None | Route::Direct => spec
                .env
                .push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), upstream.endpoint())),
            Route::NoopExtension => spec
                .extensions
                .push(release_binary(bins, "bench-noop-extension")?),
            Route::Extension(flush) => {
                spec.extensions.push(existing(
                    bins.extension.clone(),
                    "cargo build --profile extension -p faas-otel-extension",
                )?);
                // The function finds the extension at a fixed address, so the port is chosen
                // before it listens (as on Lambda, where it is 4318).
                let port = free_port()?;
                spec.env.extend([
                    (
                        "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                        format!("http://127.0.0.1:{port}"),
                    ),
                    (
                        "FAAS_OTEL_EXTENSION_LISTEN".into(),
                        format!("127.0.0.1:{port}"),
                    ),
                    (
                        "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN".into(),
                        format!("127.0.0.1:{}", free_port()?),
                    ),
                    ("FAAS_OTEL_EXTENSION_ENDPOINT".into(), upstream.endpoint()),
                    ("FAAS_OTEL_EXTENSION_FLUSH".into(), flush.into()),
                ]);
            }
            Route::Rotel => {
                let agent = bins
                    .rotel
                    .as_deref()
                    .context("rotel-agent is not in ./.venv-bench (pip install rotel)")?;
                let port = free_port()?;
                rotel = Some(start_rotel(agent, port, &upstream.endpoint(), &bins.log)?);
                spec.env.push((
                    "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                    format!("http://127.0.0.1:{port}"),
                ));
            }
        }
        let emulator = Emulator::start(FUNCTION_NAME)?;
        emulator.log_to(&bins.log)?;
        emulator.spawn(spec)?;
        let run = Run {
            runtime_ready: emulator
                .wait_ready(Duration::from_secs(30))
                .with_context(|| format!("{} did not start", variant.name))?,
            ..Run::default()
        };
        Ok(Self {
            variant,
            emulator,
            rotel,
            run,
            before,
        })
    }

    /// Invokes it once (its `n`-th invocation) and waits for the report; the billed cycle and
    /// the wall time are kept when `measured`.
    pub fn invoke(&mut self, n: usize, measured: bool) -> Result<()> {
        let started = Instant::now();
        let result = self.emulator.invoke(
            format!("{{\"n\":{n}}}").as_bytes(),
            InvokeOptions {
                traceparent: Some(format!(
                    "00-{:032x}-{:016x}-01",
                    0xb111_0000_0000_0000_u128 + n as u128 + 1,
                    n as u64 + 1
                )),
                client_context: None,
            },
        )?;
        let report = self
            .emulator
            .wait_report(&result.request_id, Duration::from_secs(120))?;
        if self.run.invoked == 0 {
            self.run.init = report.init_duration;
        }
        self.run.invoked += 1;
        if result.error.is_some() {
            self.run.errors += 1;
        }
        if measured {
            self.run.billed.push(billed_cycle(&report));
            self.run.wall = self.run.wall.saturating_add(started.elapsed());
        }
        Ok(())
    }

    /// SHUTDOWN, then what reached `upstream` since the start.
    pub fn finish(self, upstream: &DelayedUpstream) -> Result<Run> {
        let Self {
            emulator,
            rotel,
            mut run,
            before,
            ..
        } = self;
        emulator.shutdown()?;
        if rotel.is_some() {
            // rotel-agent is no extension: give its batch (200 ms timeout by default) time to
            // leave.
            std::thread::sleep(Duration::from_secs(1));
        }
        drop(rotel);
        // The upstream counts after its delay: wait for what is still in flight.
        std::thread::sleep(SLOW_UPSTREAM * 3);
        run.malformed = upstream.malformed().saturating_sub(before.malformed);
        for (path, n) in upstream.requests_by_path() {
            let added = n.saturating_sub(before.requests.get(&path).copied().unwrap_or(0));
            if added > 0 {
                run.requests.insert(path, added);
            }
        }
        for (name, n) in upstream.spans_by_name() {
            let added = n.saturating_sub(before.spans.get(&name).copied().unwrap_or(0));
            if added > 0 {
                run.delivered.insert(name, added);
            }
        }
        Ok(run)
    }

    /// Its table name.
    pub fn name(&self) -> &'static str {
        self.variant.name
    }
}

/// Every run of one upstream: `runs[round][variant]`, `Err` text where a run failed.
pub type Rounds = Vec<Vec<Result<Run, String>>>;

/// Runs [`VARIANTS`] against upstreams answering after `delay` (one per variant, so that
/// every count is its own), `plan.rounds` times: each round starts every variant's
/// environment, then invokes them in turn, [`BLOCK`] invocations each (A B C … A B C …,
/// [`interleave`]), warm-up first, then shuts them all down. A disturbance of the machine
/// then falls on every variant of the round alike, not on whichever variant was running.
pub fn measure(bins: &Binaries, delay: Duration, plan: Plan) -> Result<Rounds> {
    let upstreams = VARIANTS
        .iter()
        .map(|_| DelayedUpstream::start(delay))
        .collect::<Result<Vec<_>>>()?;
    let mut rounds: Rounds = Vec::new();
    for round in 0..plan.rounds {
        let mut live: Vec<Result<Live, String>> = VARIANTS
            .iter()
            .zip(&upstreams)
            .map(|(variant, upstream)| {
                Live::start(bins, *variant, upstream).map_err(|err| format!("{err:#}"))
            })
            .collect();
        for (n, v) in interleave(plan.warmup + plan.invocations, VARIANTS.len(), BLOCK) {
            let Some(slot) = live.get_mut(v) else {
                continue;
            };
            if let Ok(variant) = slot
                && let Err(err) = variant.invoke(n, n >= plan.warmup)
            {
                *slot = Err(format!("{}: {err:#}", variant.name()));
            }
        }
        let runs: Vec<Result<Run, String>> = live
            .into_iter()
            .zip(&upstreams)
            .map(|(live, upstream)| {
                live.and_then(|l| l.finish(upstream).map_err(|e| format!("{e:#}")))
            })
            .collect();
        for (variant, run) in VARIANTS.iter().zip(&runs) {
            match run {
                Ok(r) => eprintln!(
                    "xtask:   upstream +{} ms, round {}: {}: {:.0} invocations/s",
                    delay.as_millis(),
                    round + 1,
                    variant.name,
                    r.per_second()
                ),
                Err(err) => eprintln!("xtask:   {}: {err}", variant.name),
            }
        }
        rounds.push(runs);
    }
    Ok(rounds)
}

/// Consecutive invocations of one variant before the next variant's turn: short enough that
/// a disturbance of the machine spans every variant, long enough that each variant runs at
/// its steady rate (invoked one at a time, every ~100 ms, each process woke from an idle
/// machine at each invocation: `billed_alone` with `FAAS_OTEL_BENCH_GAP_MS=100` measured the
/// bare cycle 0.6 → 1.0 ms and the extension's 0.6 → 2.2 ms).
pub const BLOCK: usize = 10;

/// The order of one round's invocations: `(invocation, variant)`, in blocks of `block`
/// invocations of each variant in turn (A×block B×block … A×block …), the warm-up first.
pub fn interleave(invocations: usize, variants: usize, block: usize) -> Vec<(usize, usize)> {
    let block = block.max(1);
    (0..invocations.div_ceil(block))
        .flat_map(|chunk| {
            (0..variants).flat_map(move |v| {
                let end = invocations.min(chunk.saturating_add(1).saturating_mul(block));
                (chunk * block..end).map(move |n| (n, v))
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Runs `variant` alone against `upstream`: start, `plan.warmup` + `plan.invocations`
    /// sequential invocations, SHUTDOWN, then the spans delivered.
    fn run_once(
        bins: &Binaries,
        variant: Variant,
        upstream: &DelayedUpstream,
        plan: Plan,
    ) -> Result<Run> {
        let gap = std::env::var("FAAS_OTEL_BENCH_GAP_MS").map_or(Duration::ZERO, |ms| {
            Duration::from_millis(ms.parse().unwrap())
        });
        let mut live = Live::start(bins, variant, upstream)?;
        for n in 0..plan.warmup + plan.invocations {
            live.invoke(n, n >= plan.warmup)?;
            std::thread::sleep(gap);
        }
        live.finish(upstream)
    }

    /// One variant alone for `FAAS_OTEL_BENCH_INVOCATIONS` (default 3000) invocations,
    /// `FAAS_OTEL_BENCH_VARIANT` (default: the adaptive extension) naming it by its table name,
    /// against an upstream answering after `FAAS_OTEL_BENCH_UPSTREAM_MS` (default 0), with
    /// `FAAS_OTEL_BENCH_GAP_MS` (default 0) between invocations, for profiling (`perf record -a` around `cargo test -p xtask
    /// billed_alone -- --ignored --nocapture`); prints its median billed cycle.
    #[test]
    #[ignore = "needs the release bench binaries and the extension; run by hand"]
    fn billed_alone() {
        let name = std::env::var("FAAS_OTEL_BENCH_VARIANT")
            .unwrap_or_else(|_| "faas + extension (adaptive, default)".to_owned());
        let variant = *VARIANTS.iter().find(|v| v.name == name).unwrap();
        let invocations =
            std::env::var("FAAS_OTEL_BENCH_INVOCATIONS").map_or(3000, |n| n.parse().unwrap());
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let bins = Binaries {
            release: root.join("target/release"),
            extension: super::super::extension_binary(&root.join("target")),
            rotel: None,
            log: std::env::temp_dir().join("billed-alone.log"),
        };
        let delay = std::env::var("FAAS_OTEL_BENCH_UPSTREAM_MS").map_or(Duration::ZERO, |ms| {
            Duration::from_millis(ms.parse().unwrap())
        });
        let upstream = DelayedUpstream::start(delay).unwrap();
        let plan = Plan {
            rounds: 1,
            warmup: 20,
            invocations,
        };
        let run = run_once(&bins, variant, &upstream, plan).unwrap();
        let mut billed = run.billed.clone();
        billed.sort();
        eprintln!(
            "{}: median billed {:?} over {} invocations, {:.0}/s",
            variant.name,
            billed[billed.len() / 2],
            billed.len(),
            run.per_second()
        );
    }

    #[test]
    fn rounds_interleave_every_variant_in_order() {
        assert_eq!(
            interleave(2, 3, 1),
            vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
        );
        assert_eq!(
            interleave(5, 2, 2),
            vec![
                (0, 0),
                (1, 0),
                (0, 1),
                (1, 1),
                (2, 0),
                (3, 0),
                (2, 1),
                (3, 1),
                (4, 0),
                (4, 1)
            ]
        );
        assert_eq!(
            interleave(3, 2, 0),
            interleave(3, 2, 1),
            "a block is at least one"
        );
        assert!(interleave(0, 3, 10).is_empty());
        assert_eq!(VARIANTS[0].route, Route::None);
        assert_eq!(VARIANTS[RECIPE].binary, "bench-upstream");
        assert_eq!(VARIANTS[BARE_ON_WORKER].env, [(LOOP_VARIABLE, "worker")]);
        assert_eq!(VARIANTS[BARE_ON_WORKER].route, Route::None);
        assert_eq!(VARIANTS[RECIPE_ON_WORKER].binary, "bench-upstream");
        assert_eq!(VARIANTS[RECIPE_ON_WORKER].env, [(LOOP_VARIABLE, "worker")]);
    }

    #[test]
    fn the_billed_cycle_ends_at_the_later_next() {
        let delivered = Instant::now();
        let report = Report {
            request_id: "r".into(),
            status: "success".into(),
            duration: Duration::ZERO,
            billed_duration_ms: 0,
            memory_size_mb: 128,
            max_memory_used_mb: 0,
            init_duration: None,
            delivered,
            idle: delivered + Duration::from_millis(31),
        };
        assert_eq!(billed_cycle(&report), Duration::from_millis(31));
        let backwards = Report {
            idle: delivered,
            delivered: delivered + Duration::from_millis(1),
            ..report
        };
        assert_eq!(billed_cycle(&backwards), Duration::ZERO);
    }
}
