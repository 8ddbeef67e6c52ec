//! `cargo xtask bench [--quick]`: measures what the tracing costs and writes BENCHMARKS.md.
//!
//! 1. per-invocation overhead of `bench-faas` and `bench-upstream` against `bench-bare`, end to
//!    end through the emulator ([`lambda_emulator`]), spans going to a local receiver;
//! 2. cold start (exec to first `next`) of each;
//! 3. the flush with a collector that refuses, stalls or answers 500, against a healthy one;
//! 4. the extension footprint (when a real extension is built) and 5. the zip sizes;
//! 6. the criterion micro-benchmarks with their baselines.
//!
//! 7. the billed cycle ([`billed`]): function + extension (per flush strategy), direct export
//!    (ours, the upstream recipe) and rotel-agent, in interleaved rounds, against an upstream
//!    30 ms away and one that answers at once.
//!
//! It builds what it measures: the release binaries, the zips of section 5 (the bench
//! functions packaged as Lambda would run them, with `cargo xtask package`'s code) and the
//! deployable Lambda binaries (`cargo xtask build --release` for this machine's instruction
//! set, [`build_deployable`]), so that no figure comes from a binary of an older checkout. When
//! the deployable build fails, the bench stops and names the command to run.
//!
//! `--quick` runs few iterations: a smoke run of the whole pipeline. `--only collector` runs
//! section 4 alone and prints its table; `--only billed` runs section 7 alone and prints it;
//! `--only sizes` builds, packages and prints section 5; `--only cold`
//! builds the bench functions and prints section 2's medians.

mod billed;
mod billed_report;
mod billed_upstream;
mod collector;
mod criterion;
mod footprint;
mod kept_notes;
mod machine;
mod otlp_load;
mod report;
mod rotel_agent;
mod runner;
mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};

use crate::lambda_arch::{Arch, EXTENSION, EXTENSION_PROFILE};

use collector::{Behaviour, Collector};
use report::{ColdRow, FaultRow, OverheadRow, Results};
use runner::{BARE, FAAS, UPSTREAM, Variant};

/// Iteration counts of one run.
#[derive(Debug, Clone, Copy)]
struct Plan {
    warmup: usize,
    invocations: usize,
    cold_runs: usize,
    fault_warmup: usize,
    fault_invocations: usize,
    upstream_fault_invocations: usize,
}

const FULL: Plan = Plan {
    warmup: 100,
    invocations: 2000,
    cold_runs: 30,
    fault_warmup: 5,
    fault_invocations: 100,
    upstream_fault_invocations: 5,
};

const QUICK: Plan = Plan {
    warmup: 5,
    invocations: 50,
    cold_runs: 3,
    fault_warmup: 1,
    fault_invocations: 5,
    upstream_fault_invocations: 1,
};

/// Set in the optimized build [`run`] starts, so that it does not start itself again.
const OPTIMIZED_VAR: &str = "FAAS_OTEL_BENCH_OPTIMIZED";

/// Runs the command from the workspace `root` with `args` (after `bench`).
///
/// `cargo xtask` is a debug build, and the bench's emulator, receivers and load generators run
/// in its process: unoptimized, they took half of the 2 cores in a profile of section 7 and
/// decoded the recipe's exports several times slower than any real collector would. So a
/// debug build runs the bench again as an optimized one (`--profile bench`: opt-level 3, thin
/// LTO; about 80 s to build), which does the work.
pub fn run(root: &Path, args: &[String]) -> Result<u8> {
    if cfg!(debug_assertions) && std::env::var_os(OPTIMIZED_VAR).is_none() {
        eprintln!("xtask: running the bench from an optimized build of xtask (--profile bench)");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "run",
                "--quiet",
                "--profile",
                "bench",
                "-p",
                "xtask",
                "--",
                "bench",
            ])
            .args(args)
            .env(OPTIMIZED_VAR, "1")
            .current_dir(root)
            .status()
            .context("running the optimized xtask")?;
        return Ok(status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1));
    }
    let mut quick = false;
    let mut only: Option<String> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--only" => match args.next().map(String::as_str) {
                Some(what @ ("collector" | "billed" | "sizes" | "cold")) => {
                    only = Some(what.to_owned())
                }
                other => bail!("--only {other:?}: `--only collector`, `billed`, `sizes` or `cold`"),
            },
            other => bail!(
                "unknown argument {other:?}: `cargo xtask bench [--quick] [--only collector|billed|sizes|cold]`"
            ),
        }
    }
    match only.as_deref() {
        Some("collector") => return only_collector_section(root, quick),
        Some("billed") => return only_billed_section(root, quick),
        Some("cold") => return only_cold_section(root, quick),
        Some("sizes") => {
            // It packages what this checkout builds, never binaries left from an older commit.
            build_functions(root)?;
            build_extension(root)?;
            build_deployable(root)?;
            let (text, _, tracing) = sizes_section(&root.join("target"));
            println!("{text}");
            return Ok(if tracing.is_some() { 0 } else { 1 });
        }
        _ => {}
    }
    let plan = if quick { QUICK } else { FULL };
    let started = Instant::now();
    let since = SystemTime::now();
    let mut results = Results {
        machine: machine::Machine::detect(),
        quick,
        iterations: (plan.warmup, plan.invocations),
        ..Results::default()
    };
    let target = root.join("target");
    let bin_dir = target.join("release");
    let log = target.join("xtask-logs").join("bench-functions.log");
    let _ = std::fs::remove_file(&log);

    eprintln!("xtask: [1/7] release build of bench-bare, bench-faas, bench-upstream");
    build_functions(root)?;
    build_deployable(root)?;

    eprintln!(
        "xtask: [2/7] per-invocation overhead ({} + {} invocations each)",
        plan.warmup, plan.invocations
    );
    for variant in [BARE, FAAS, UPSTREAM] {
        let collector = Collector::start(Behaviour::Healthy)?;
        match runner::invocations(
            &bin_dir,
            &log,
            variant,
            &collector.endpoint(),
            plan.warmup,
            plan.invocations,
        ) {
            Ok(run) => {
                eprintln!(
                    "xtask:   {}: {:.0} invocations/s",
                    variant.binary,
                    run.per_second()
                );
                results.overhead.push(OverheadRow {
                    label: variant.label.into(),
                    run,
                    exported: (collector.requests(), collector.bytes()),
                });
            }
            Err(err) => results
                .failures
                .push(format!("overhead of {}: {err:#}", variant.binary)),
        }
    }

    eprintln!("xtask: [3/7] cold starts ({} runs each)", plan.cold_runs);
    let collector = Collector::start(Behaviour::Healthy)?;
    for variant in [BARE, FAAS, UPSTREAM] {
        match runner::cold_starts(
            &bin_dir,
            &log,
            variant,
            &collector.endpoint(),
            plan.cold_runs,
        ) {
            Ok(sample) => results.cold.push(ColdRow {
                label: variant.label.into(),
                sample,
            }),
            Err(err) => results
                .failures
                .push(format!("cold start of {}: {err:#}", variant.binary)),
        }
    }
    drop(collector);

    eprintln!("xtask: [4/7] flush under collector faults");
    faults(
        &mut results,
        &bin_dir,
        &log,
        FAAS,
        plan.fault_warmup,
        plan.fault_invocations,
    );
    faults(
        &mut results,
        &bin_dir,
        &log,
        UPSTREAM,
        1,
        plan.upstream_fault_invocations,
    );

    eprintln!("xtask: [5/7] extension and sizes");
    (results.extension, results.footprint) =
        extension_section(root, if quick { 3 } else { footprint::READY_RUNS });
    (results.sizes, results.largest_zip, results.tracing_zip) = sizes_section(&target);

    eprintln!("xtask: [6/7] criterion micro-benchmarks");
    match criterion::run(root, quick) {
        Ok(()) => results.criterion = criterion::collect(&target.join("criterion"), since),
        Err(err) => results.failures.push(format!("criterion: {err:#}")),
    }

    eprintln!("xtask: [7/7] billed cycle");
    (results.billed, results.billed_goals) = billed_section(root, quick);

    results.load_at_end = machine::load();
    results.elapsed = started.elapsed();
    let path = root.join("BENCHMARKS.md");
    // The notes written by hand between runs (measured causes: profiles, `cargo bloat`) stay.
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let markdown = kept_notes::keep(&old, &report::render(&results));
    std::fs::write(&path, &markdown).with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "xtask: wrote {} in {:.0} s (function output: {})",
        path.display(),
        results.elapsed.as_secs_f64(),
        log.display()
    );
    Ok(if results.failures.is_empty() { 0 } else { 1 })
}

/// One variant against every collector behaviour, healthy first.
fn faults(
    results: &mut Results,
    bin_dir: &Path,
    log: &Path,
    variant: Variant,
    warmup: usize,
    n: usize,
) {
    for behaviour in [
        Behaviour::Healthy,
        Behaviour::Refusing,
        Behaviour::Stalling,
        Behaviour::Failing,
    ] {
        let collector = match Collector::start(behaviour) {
            Ok(c) => c,
            Err(err) => {
                results
                    .failures
                    .push(format!("collector {}: {err:#}", behaviour.label()));
                continue;
            }
        };
        eprintln!(
            "xtask:   {} with a collector that {}",
            variant.binary,
            behaviour.label()
        );
        match runner::invocations(bin_dir, log, variant, &collector.endpoint(), warmup, n) {
            Ok(run) => results.faults.push(FaultRow {
                variant: short_label(variant).into(),
                collector: behaviour.label().into(),
                run,
            }),
            Err(err) => results.failures.push(format!(
                "{} with a collector that {}: {err:#}",
                variant.binary,
                behaviour.label()
            )),
        }
    }
}

fn short_label(variant: Variant) -> &'static str {
    if variant == FAAS {
        "faas-aws"
    } else if variant == UPSTREAM {
        "upstream recipe"
    } else {
        "bare"
    }
}

/// Runs cargo with `args` in `root`.
fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Section 4: the release extension beside `bench-bare` against `rotel-agent` from
/// `./.venv-bench` (PyPI `rotel`), both measured by [`footprint::measure`] in this run.
fn extension_section(
    root: &Path,
    runs: usize,
) -> (String, Option<(footprint::Footprint, footprint::Footprint)>) {
    match measure_extension(root, runs) {
        Ok((ours, rotel)) => (footprint::render(&ours, &rotel), Some((ours, rotel))),
        Err(err) => (format!("Not measured in this run: {err:#}"), None),
    }
}

fn measure_extension(
    root: &Path,
    runs: usize,
) -> Result<(footprint::Footprint, footprint::Footprint)> {
    build_extension(root)?;
    let agent = rotel_agent(root)?;
    let release = root.join("target/release");
    let log = root.join("target/xtask-logs/bench-footprint.log");
    let ours = footprint::Ours {
        extension: extension_binary(&root.join("target")),
        runtime: release.join("bench-bare"),
    };
    let ours = footprint::measure(&ours, &log, runs)?;
    let rotel = footprint::measure(&footprint::Rotel { agent }, &log, runs)?;
    for measured in [&ours, &rotel] {
        eprintln!(
            "xtask:   {}: {:.0} spans/s forwarded at most",
            measured.name, measured.max_spans_per_second
        );
    }
    Ok((ours, rotel))
}

/// `--only collector`: section 4 alone, printed (BENCHMARKS.md is left as it is).
fn only_collector_section(root: &Path, quick: bool) -> Result<u8> {
    eprintln!("xtask: extension footprint vs rotel-agent only");
    let (text, measured) = extension_section(root, if quick { 3 } else { footprint::READY_RUNS });
    println!("{text}");
    Ok(if measured.is_some() { 0 } else { 1 })
}

/// `rotel-agent` from `./.venv-bench` (PyPI `rotel`, installed when missing).
fn rotel_agent(root: &Path) -> Result<PathBuf> {
    let venv = crate::venv::ensure_at(root, ".venv-bench", "xtask/requirements-bench.txt")
        .context("installing rotel (PyPI) into ./.venv-bench")?;
    std::fs::read_dir(venv.dir().join("lib"))
        .context("reading the bench venv")?
        .flatten()
        .map(|python| python.path().join("site-packages/rotel/rotel-agent"))
        .find(|p| p.is_file())
        .context("rotel-agent is not in ./.venv-bench (pip install rotel)")
}

/// Section 7: builds the release binaries it runs, then both upstreams' interleaved rounds.
/// Returns the text and the goal rows.
fn billed_section(root: &Path, quick: bool) -> (String, Vec<(String, String)>) {
    match measure_billed(root, quick) {
        Ok(done) => done,
        Err(err) => (format!("Not measured in this run: {err:#}"), Vec::new()),
    }
}

fn measure_billed(root: &Path, quick: bool) -> Result<(String, Vec<(String, String)>)> {
    build_functions(root)?;
    build_extension(root)?;
    let rotel = match rotel_agent(root) {
        Ok(agent) => Some(agent),
        Err(err) => {
            eprintln!("xtask:   without rotel-agent: {err:#}");
            None
        }
    };
    let bins = billed::Binaries {
        release: root.join("target/release"),
        extension: extension_binary(&root.join("target")),
        rotel,
        log: root.join("target/xtask-logs/bench-billed.log"),
    };
    if let Some(dir) = bins.log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(&bins.log);
    let plan = if quick { billed::QUICK } else { billed::FULL };
    let slow = billed::measure(&bins, billed::SLOW_UPSTREAM, plan)?;
    let instant = billed::measure(&bins, std::time::Duration::ZERO, plan)?;
    let mut text = format!(
        "{} rounds. Each round starts every variant's environment (each variant with an upstream \
         of its own), then invokes them in turn, {} consecutive invocations each (A B C … A B C \
         …): {} warm-up then {} measured invocations of every variant, so that a disturbance of \
         the machine falls on every variant of the round alike while each runs at its steady \
         rate; then SHUTDOWN, and the spans counted at each upstream. Billed cycle = \
         `platform.report` `durationMs`: delivery to the later of the function's and the \
         extension's next `/next`. rotel-agent runs as a plain local process (not a registered \
         extension), so its forwarding is never billed here: a lower bound for a rotel layer.\n\n",
        plan.rounds,
        billed::BLOCK,
        plan.warmup,
        plan.invocations
    );
    billed_report::render(&mut text, billed::SLOW_UPSTREAM, &slow);
    billed_report::render(&mut text, std::time::Duration::ZERO, &instant);
    Ok((text, billed_report::goals(&slow, &instant)))
}

/// The release builds of the bench functions (`bench-bare`, `bench-faas`, `bench-upstream`):
/// every section measures what this run built, never a binary left from an older commit.
/// Each is its own package (`examples/bench/*`), built by a cargo run of its own, so that its
/// dependencies get only the features it asks for, as in a user's function: one run would
/// unify the recipe's blocking HTTP client into ours and ours into the recipe.
fn build_functions(root: &Path) -> Result<()> {
    for package in [
        "bench-bare",
        "bench-faas",
        "bench-upstream",
        "bench-noop-extension",
    ] {
        cargo(root, &["build", "--release", "-p", package])?;
    }
    Ok(())
}

/// The deployable binaries of section 5: `cargo xtask build --release --arch <host>` (the first
/// run installs cargo-lambda and zig from PyPI and cross-builds everything, about 15 minutes on
/// 2 cores; later runs rebuild what changed). An error, naming the command, when it fails.
fn build_deployable(root: &Path) -> Result<()> {
    let args = deployable_build_args(Arch::default_for_host());
    let command = format!("cargo xtask build {}", args.join(" "));
    eprintln!("xtask:   the deployable Lambda binaries: {command}");
    match crate::build::run(root, &args) {
        Ok(0) => Ok(()),
        Ok(_) => bail!(
            "`{command}` failed (its errors are above): section 5 measures what it builds; \
             run it until it succeeds, then the bench again"
        ),
        Err(err) => Err(err.context(format!(
            "`{command}` could not run: section 5 measures what it builds; run it by hand, \
             then the bench again"
        ))),
    }
}

/// The arguments of [`build_deployable`]'s `cargo xtask build`.
fn deployable_build_args(arch: Arch) -> Vec<String> {
    vec![
        "--release".into(),
        "--arch".into(),
        arch.lambda_name().into(),
    ]
}

/// The release build of the extension, under its own profile (speed over size, as
/// `cargo xtask build --release` builds the layer).
fn build_extension(root: &Path) -> Result<()> {
    cargo(
        root,
        &[
            "build",
            "--profile",
            EXTENSION_PROFILE,
            "-p",
            "faas-otel-extension",
            "--bin",
            "faas-otel-extension",
        ],
    )
}

/// Where [`build_extension`] puts the host binary under the `target` directory.
pub fn extension_binary(target: &Path) -> PathBuf {
    target.join(EXTENSION_PROFILE).join(EXTENSION)
}

/// `--only cold`: section 2's cold starts, medians printed.
fn only_cold_section(root: &Path, quick: bool) -> Result<u8> {
    let plan = if quick { QUICK } else { FULL };
    build_functions(root)?;
    let bin_dir = root.join("target/release");
    let log = root.join("target/xtask-logs/bench-cold.log");
    let collector = Collector::start(Behaviour::Healthy)?;
    for variant in [BARE, FAAS, UPSTREAM] {
        let sample = runner::cold_starts(
            &bin_dir,
            &log,
            variant,
            &collector.endpoint(),
            plan.cold_runs,
        )?;
        let median = stats::Summary::of(&sample).map(|s| s.median_us);
        println!(
            "{}: median {} over {} starts",
            variant.binary,
            stats::fmt_us(median.unwrap_or(f64::NAN)),
            sample.len()
        );
    }
    Ok(0)
}

/// `--only billed`: section 7 alone, printed (BENCHMARKS.md is left as it is).
fn only_billed_section(root: &Path, quick: bool) -> Result<u8> {
    eprintln!("xtask: billed cycle only");
    let (text, goals) = billed_section(root, quick);
    println!("| goal | result |\n|---|---|");
    for (goal, verdict) in &goals {
        println!("| {goal} | {verdict} |");
    }
    println!("\n{text}");
    Ok(if goals.is_empty() { 1 } else { 0 })
}

/// Section 5: the bench functions and the extension packaged into `target/bench-zips` (the
/// footprint of the tracing: `bench-faas` minus `bench-bare`), and the deployable zips under
/// `target/lambda` (packaged here from `cargo xtask build`'s binaries when they exist).
/// Returns the text, the largest deployable function zip and [`tracing_zip_bytes`].
fn sizes_section(target: &Path) -> (String, Option<(String, u64)>, Option<i64>) {
    let mut text = String::from(
        "The bench packages what it measures (`cargo xtask bench --only sizes` builds and \
         prints this part alone): the host release builds it just ran (each bench function a \
         package of its own, `examples/bench/*`, built by its own cargo run, so its \
         dependencies have only the features it asks for), zipped with `cargo xtask package`'s \
         reproducible zip code into `target/bench-zips`, and the deployable zips under \
         `target/lambda`, packaged from the binaries of `cargo xtask build --release` for this \
         machine's instruction set, which the bench runs first (it stops, naming the command, \
         when that build fails).\n\n",
    );
    let mut tracing = None;
    let release = target.join("release");
    let bench_dir = target.join("bench-zips");
    let functions: Vec<(&str, PathBuf)> = ["bench-bare", "bench-faas", "bench-upstream"]
        .into_iter()
        .map(|f| (f, release.join(f)))
        .collect();
    let artifacts = crate::package::artifacts(&functions, extension_binary(target), &bench_dir);
    match crate::package::package(
        &artifacts,
        crate::reproducible_zip::EPOCH,
        "Build them with `cargo build --release -p bench-bare`, `-p bench-faas`, \
         `-p bench-upstream` (one cargo run each) and `cargo build --profile extension -p \
         faas-otel-extension`.",
    ) {
        Ok(packaged) => {
            tracing = tracing_zip_bytes(&packaged);
            text.push_str(&footprint_table(&packaged));
        }
        Err(err) => text.push_str(&format!("Bench zips not packaged: {err:#}\n\n")),
    }
    let arch = Arch::default_for_host();
    let lambda_dir = arch.lambda_dir(target);
    let built = crate::package::built_artifacts(&lambda_dir);
    if built.iter().all(|a| a.binary.is_file())
        && let Err(err) = crate::package::package(&built, crate::reproducible_zip::EPOCH, "")
    {
        text.push_str(&format!("Packaging target/lambda failed: {err:#}\n\n"));
    }
    let dir = target.join("lambda");
    let mut zips: Vec<(PathBuf, u64)> = Vec::new();
    collect_zips(&dir, &mut zips);
    if zips.is_empty() {
        text.push_str(&format!(
            "Deployable zips not measured: nothing under `target/lambda`. Run \
             `cargo xtask build --release --arch {}` (cargo-lambda, cross-compiled for \
             provided.al2023) and the bench packages them.\n",
            arch.lambda_name()
        ));
        return (text, None, tracing);
    }
    zips.sort();
    text.push_str("| zip | bytes | MB |\n|---|---|---|\n");
    for (path, bytes) in &zips {
        let name = path.strip_prefix(&dir).unwrap_or(path).display();
        text.push_str(&format!(
            "| target/lambda/{name} | {bytes} | {:.2} |\n",
            *bytes as f64 / 1048576.0
        ));
    }
    let largest = zips
        .iter()
        .filter(|(p, _)| !p.to_string_lossy().contains("extension"))
        .max_by_key(|(_, b)| *b)
        .map(|(p, b)| (p.strip_prefix(&dir).unwrap_or(p).display().to_string(), *b));
    (text, largest, tracing)
}

/// The bench zips, each against `bench-bare.zip`.
fn footprint_table(packaged: &[crate::package::Packaged]) -> String {
    let bare = packaged
        .iter()
        .find(|p| p.zip.ends_with("bench-bare.zip"))
        .map(|p| p.zip_bytes);
    let mut text = String::from(
        "Host release builds packaged as Lambda zips (`target/bench-zips`, reproducible):\n\n\
         | zip | zip bytes | binary bytes | zip vs bench-bare.zip |\n|---|---|---|---|\n",
    );
    for p in packaged {
        let name = p.zip.file_name().map(|n| n.to_string_lossy().into_owned());
        let delta = match bare {
            Some(b) if !name.as_deref().is_some_and(|n| n.contains("extension")) => {
                format!("{:+.0} KB", (p.zip_bytes as f64 - b as f64) / 1024.0)
            }
            _ => String::new(),
        };
        text.push_str(&format!(
            "| {} | {} | {} | {delta} |\n",
            name.unwrap_or_default(),
            p.zip_bytes,
            p.binary_bytes
        ));
    }
    text.push('\n');
    text
}

/// The zip footprint of the tracing: `bench-faas.zip` minus `bench-bare.zip`, bytes.
fn tracing_zip_bytes(packaged: &[crate::package::Packaged]) -> Option<i64> {
    let size = |name: &str| {
        packaged
            .iter()
            .find(|p| p.zip.ends_with(name))
            .map(|p| p.zip_bytes as i64)
    };
    Some(size("bench-faas.zip")? - size("bench-bare.zip")?)
}

fn collect_zips(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_zips(&path, out);
        } else if path.extension().is_some_and(|e| e == "zip") {
            let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push((path, bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployable_build_is_the_release_build_for_the_arch() -> Result<()> {
        for arch in [Arch::X86_64, Arch::Arm64] {
            let args = deployable_build_args(arch);
            let options = crate::build::parse(&args)?;
            assert_eq!((options.arch, options.release), (arch, true));
        }
        Ok(())
    }
}
