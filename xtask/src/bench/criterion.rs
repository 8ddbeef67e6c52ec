//! The criterion micro-benchmarks: run them, then read criterion's own estimates
//! (`target/criterion/**/new/{benchmark,estimates}.json`) written by this run.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// One benchmark's estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Criterion's group (the `benchmark_group` or the function name).
    pub group: String,
    /// The function within the group (empty for a lone `bench_function`).
    pub function: String,
    /// Median time per iteration, nanoseconds.
    pub median_ns: f64,
}

impl Estimate {
    /// Whether this is the baseline of its group (its name starts with `baseline`).
    pub fn is_baseline(&self) -> bool {
        self.function.starts_with("baseline")
    }
}

/// The benches this command runs: package and bench target.
pub const BENCHES: &[(&str, &str)] = &[("faas-core", "invocation_span"), ("faas-aws", "triggers")];

/// Runs every bench of [`BENCHES`] with short timings.
pub fn run(root: &Path, quick: bool) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let (warm, measure) = if quick { ("0.5", "1") } else { ("1", "3") };
    for (package, bench) in BENCHES {
        eprintln!("xtask:   cargo bench -p {package} --bench {bench}");
        let status = Command::new(&cargo)
            .args([
                "bench",
                "-p",
                package,
                "--bench",
                bench,
                "--",
                "--warm-up-time",
                warm,
                "--measurement-time",
                measure,
            ])
            .current_dir(root)
            .status()
            .with_context(|| format!("running cargo bench -p {package}"))?;
        if !status.success() {
            bail!("cargo bench -p {package} --bench {bench} failed ({status})");
        }
    }
    Ok(())
}

/// Every estimate under `dir` written at or after `since`, sorted by group then function.
pub fn collect(dir: &Path, since: SystemTime) -> Vec<Estimate> {
    let mut found = Vec::new();
    walk(dir, &mut |new_dir| {
        let estimates = new_dir.join("estimates.json");
        let fresh = std::fs::metadata(&estimates)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if !fresh {
            return;
        }
        let read =
            |p: &Path| -> Option<Value> { serde_json::from_slice(&std::fs::read(p).ok()?).ok() };
        let (Some(meta), Some(est)) = (read(&new_dir.join("benchmark.json")), read(&estimates))
        else {
            return;
        };
        if let Some(estimate) = parse(&meta, &est) {
            found.push(estimate);
        }
    });
    found.sort_by(|a, b| (&a.group, &a.function).cmp(&(&b.group, &b.function)));
    found
}

/// One estimate from criterion's `benchmark.json` and `estimates.json`.
pub fn parse(benchmark: &Value, estimates: &Value) -> Option<Estimate> {
    Some(Estimate {
        group: benchmark["group_id"].as_str()?.to_string(),
        function: benchmark["function_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        median_ns: estimates["median"]["point_estimate"].as_f64()?,
    })
}

/// Calls `visit` with every `new` directory under `dir`.
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                visit(&path);
            } else {
                walk(&path, visit);
            }
        }
    }
}

/// The baseline of `estimate`'s group among `all`, if it has one and is not it.
pub fn baseline_of<'a>(estimate: &Estimate, all: &'a [Estimate]) -> Option<&'a Estimate> {
    all.iter()
        .find(|b| b.group == estimate.group && b.is_baseline())
        .filter(|b| b.function != estimate.function)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_criterion_files_and_pairs_baselines() {
        let meta = json!({ "group_id": "invocation_span", "function_id": "baseline: plain SDK span", "full_id": "x" });
        let est =
            json!({ "median": { "point_estimate": 812.5 }, "mean": { "point_estimate": 900.0 } });
        let base = parse(&meta, &est).unwrap_or_else(|| panic!("unparsed"));
        assert_eq!(base.median_ns, 812.5);
        assert!(base.is_baseline());
        let lone = parse(
            &json!({ "group_id": "propagation: inject", "function_id": null }),
            &est,
        )
        .unwrap_or_else(|| panic!("unparsed"));
        assert_eq!(lone.function, "");
        let ours = Estimate {
            group: "invocation_span".into(),
            function: "faas-core: span".into(),
            median_ns: 1625.0,
        };
        let all = vec![base.clone(), ours.clone(), lone.clone()];
        assert_eq!(baseline_of(&ours, &all), Some(&base));
        assert_eq!(baseline_of(&base, &all), None);
        assert_eq!(baseline_of(&lone, &all), None);
    }
}
