//! Section 7's tables: the billed cycle per variant against the bare function of the same
//! round, and the per-round ratios against the upstream recipe.

use std::fmt::Write as _;
use std::time::Duration;

use super::billed::{
    BARE_ON_WORKER, FUNCTION_NAME, RECIPE, RECIPE_ON_WORKER, Rounds, Route, Run, VARIANTS, Variant,
};
use super::stats::{Summary, fmt_delta_us, fmt_us, median_sorted};

/// The median of `values` (NaN when empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    median_sorted(&values)
}

fn median_billed_us(run: &Run) -> f64 {
    Summary::of(&run.billed)
        .map(|s| s.median_us)
        .unwrap_or(f64::NAN)
}

/// Per round: the median billed cycle of variant `v` minus that of the bare function (`0`)
/// of the same round, µs; NaN where either run failed.
pub fn added_per_round(rounds: &Rounds, v: usize) -> Vec<f64> {
    added_over(rounds, v, 0)
}

/// Per round: the median billed cycle of variant `v` minus that of variant `base` of the same
/// round, µs; NaN where either run failed.
fn added_over(rounds: &Rounds, v: usize, base: usize) -> Vec<f64> {
    rounds
        .iter()
        .map(|round| match (round.get(base), round.get(v)) {
            (Some(Ok(base)), Some(Ok(run))) => median_billed_us(run) - median_billed_us(base),
            _ => f64::NAN,
        })
        .collect()
}

/// Per round: `added(v) / added(recipe)`; NaN where the recipe added nothing or a run failed.
/// A negative added time (within the noise of the bare function) counts as 0.
pub fn ratios_per_round(rounds: &Rounds, v: usize, recipe: usize) -> Vec<f64> {
    ratios_over(rounds, v, 0, recipe)
}

/// As [`ratios_per_round`], with both added times taken over variant `base` instead of the
/// bare function: `(v − base) / (recipe − base)`.
fn ratios_over(rounds: &Rounds, v: usize, base: usize, recipe: usize) -> Vec<f64> {
    added_over(rounds, v, base)
        .into_iter()
        .zip(added_over(rounds, recipe, base))
        .map(|(ours, theirs)| {
            if theirs.is_finite() && theirs > 0.0 && ours.is_finite() {
                ours.max(0.0) / theirs
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// `(median, min, max)` of the finite values; `None` when there is none.
pub fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let min = finite.iter().copied().reduce(f64::min)?;
    let max = finite.iter().copied().reduce(f64::max)?;
    Some((median(finite), min, max))
}

/// Spans the function sent in `run`: one invocation span per invocation for `bench-faas`
/// (named after the function), none for the bare function; the upstream recipe's span names
/// are its own, so for it every span delivered is counted as sent.
pub fn spans_sent_and_delivered(variant: Variant, run: &Run) -> (u64, u64) {
    match (variant.binary, variant.route) {
        (_, Route::None | Route::NoopExtension) => (0, run.delivered.values().sum()),
        ("bench-faas", _) => (run.invoked, run.function_spans(FUNCTION_NAME)),
        _ => {
            let all: u64 = run.delivered.values().sum();
            (all, all)
        }
    }
}

/// The verdict of the extension goal: `(met, added median µs of adaptive, spans lost)`.
pub fn extension_goal(rounds: &Rounds) -> Option<(bool, f64, u64)> {
    let adaptive = VARIANTS
        .iter()
        .position(|v| v.route == Route::Extension("adaptive"))?;
    let (added, _, _) = spread(&added_per_round(rounds, adaptive))?;
    let mut lost = 0;
    for round in rounds {
        for (v, run) in round.iter().enumerate() {
            if let (Some(variant), Ok(run)) = (VARIANTS.get(v), run)
                && matches!(variant.route, Route::Extension(_))
            {
                let (sent, delivered) = spans_sent_and_delivered(*variant, run);
                lost += sent.saturating_sub(delivered);
            }
        }
    }
    Some((added <= 1000.0 && lost == 0, added, lost))
}

fn met(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**missed**" }
}

fn position(route: Route, binary: &str) -> Option<usize> {
    VARIANTS
        .iter()
        .position(|v| v.route == route && v.binary == binary)
}

/// The ratio goal of variant `v` in `rounds`: `(goal text, verdict)`.
fn ratio_goal(rounds: &Rounds, v: usize, what: &str, upstream: &str) -> (String, String) {
    let goal = format!(
        "{what} adds ≤ ×0.30 of the upstream recipe's billed time in every round ({upstream})"
    );
    let mut verdict = match spread(&ratios_per_round(rounds, v, RECIPE)) {
        Some((m, lo, hi)) => format!(
            "{}: median ×{m:.3}, rounds ×{lo:.3} – ×{hi:.3}",
            met(hi <= 0.3)
        ),
        None => "not measured".into(),
    };
    if let Some((m, lo, hi)) = spread(&ratios_over(rounds, v, BARE_ON_WORKER, RECIPE_ON_WORKER)) {
        let _ = write!(
            verdict,
            "; like for like, every function's loop on a worker thread as `faas_aws::run` places it (the tracings alone): median ×{m:.3}, rounds ×{lo:.3} – ×{hi:.3}"
        );
    }
    (goal, verdict)
}

/// Section 7's rows of the goals table.
pub fn goals(slow: &Rounds, instant: &Rounds) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    rows.push((
        "function + extension (adaptive, the default) adds ≤ 1 ms billed per invocation at steady state against a 30 ms upstream, and no span is lost".to_string(),
        match extension_goal(slow) {
            Some((ok, added, lost)) => format!(
                "{}: {} per invocation (×{:.2} of the 1 ms goal), {lost} function spans lost over every extension run",
                met(ok),
                fmt_delta_us(added),
                added.max(0.0) / 1000.0
            ),
            None => "not measured".into(),
        },
    ));
    if let Some(v) = position(Route::Extension("adaptive"), "bench-faas") {
        rows.push(ratio_goal(
            slow,
            v,
            "function + extension (adaptive)",
            "30 ms upstream",
        ));
        let (goal, mut verdict) = ratio_goal(
            instant,
            v,
            "function + extension (adaptive)",
            "instant upstream",
        );
        // What of it any registered extension costs, doing nothing.
        if let Some(noop) = position(Route::NoopExtension, "bench-bare")
            && let Some((m, lo, hi)) = spread(&ratios_per_round(instant, noop, RECIPE))
        {
            let _ = write!(
                verdict,
                "; a registered no-op extension beside the bare function alone: median ×{m:.3}, rounds ×{lo:.3} – ×{hi:.3}"
            );
        }
        rows.push((goal, verdict));
    }
    if let Some(v) = position(Route::Direct, "bench-faas") {
        rows.push(ratio_goal(
            instant,
            v,
            "faas-aws exporting directly",
            "instant upstream",
        ));
    }
    rows
}

/// The tables of one upstream.
pub fn render(w: &mut String, delay: Duration, rounds: &Rounds) {
    let _ = writeln!(
        w,
        "### Upstream answering {}\n",
        if delay.is_zero() {
            "at once".to_string()
        } else {
            format!("after {} ms", delay.as_millis())
        }
    );
    let _ = writeln!(
        w,
        "| variant | billed median | billed p99 | added vs bare (median of rounds, min–max) | invocations/s (median of rounds) | spans delivered / sent | upstream requests per invocation | cold: runtime's first `/next` / all at `/next` (`initDurationMs`), medians |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|");
    for (v, variant) in VARIANTS.iter().enumerate() {
        let runs: Vec<&Run> = rounds
            .iter()
            .filter_map(|r| r.get(v).and_then(|r| r.as_ref().ok()))
            .collect();
        if runs.is_empty() {
            let _ = writeln!(w, "| {} | not measured | | | | | | |", variant.name);
            continue;
        }
        let pooled: Vec<Duration> = runs.iter().flat_map(|r| r.billed.clone()).collect();
        let summary = Summary::of(&pooled);
        let added = if v == 0 {
            "baseline".to_string()
        } else {
            match spread(&added_per_round(rounds, v)) {
                Some((m, lo, hi)) => format!(
                    "{} ({} – {})",
                    fmt_delta_us(m),
                    fmt_delta_us(lo),
                    fmt_delta_us(hi)
                ),
                None => "n/a".into(),
            }
        };
        let per_second = median(runs.iter().map(|r| r.per_second()).collect());
        let (sent, delivered) = runs
            .iter()
            .map(|r| spans_sent_and_delivered(*variant, r))
            .fold((0, 0), |(s, d), (s1, d1)| (s + s1, d + d1));
        let init = median(
            runs.iter()
                .filter_map(|r| r.init)
                .map(|d| d.as_secs_f64() * 1e6)
                .collect(),
        );
        let ready = median(
            runs.iter()
                .map(|r| r.runtime_ready.as_secs_f64() * 1e6)
                .collect(),
        );
        let errors: usize = runs.iter().map(|r| r.errors).sum();
        let malformed: u64 = runs.iter().map(|r| r.malformed).sum();
        let invoked: u64 = runs.iter().map(|r| r.invoked).sum();
        let mut by_path: std::collections::BTreeMap<&str, u64> = Default::default();
        for run in &runs {
            for (path, n) in &run.requests {
                *by_path.entry(path.as_str()).or_default() += n;
            }
        }
        let requests = by_path
            .iter()
            .map(|(path, n)| format!("{path} {:.2}", *n as f64 / invoked.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            w,
            "| {}{} | {} | {} | {added} | {per_second:.0} | {delivered} / {sent}{} | {requests} | {} / {} |",
            variant.name,
            if errors > 0 {
                format!(" ({errors} errors)")
            } else {
                String::new()
            },
            summary.map(|s| fmt_us(s.median_us)).unwrap_or_default(),
            summary.map(|s| fmt_us(s.p99_us)).unwrap_or_default(),
            if malformed > 0 {
                format!(" ({malformed} requests not OTLP)")
            } else {
                String::new()
            },
            fmt_us(ready),
            fmt_us(init),
        );
    }
    let _ = writeln!(
        w,
        "\nPer-round ratio of the added billed time against the upstream recipe's (same round; goal ≤ ×0.30 in every round):\n"
    );
    let _ = writeln!(
        w,
        "| variant | median ratio | min – max | rounds ≤ ×0.30 |\n|---|---|---|---|"
    );
    for (v, variant) in VARIANTS.iter().enumerate() {
        // The baselines (the bare function, in both placements) and the recipe itself.
        if variant.route == Route::None || v == RECIPE || v == RECIPE_ON_WORKER {
            continue;
        }
        let ratios = ratios_per_round(rounds, v, RECIPE);
        let within = ratios.iter().filter(|r| **r <= 0.3).count();
        let measured = ratios.iter().filter(|r| r.is_finite()).count();
        match spread(&ratios) {
            Some((m, lo, hi)) => {
                let _ = writeln!(
                    w,
                    "| {} | ×{m:.3} | ×{lo:.3} – ×{hi:.3} | {within} of {measured} |",
                    variant.name
                );
            }
            None => {
                let _ = writeln!(w, "| {} | n/a | | |", variant.name);
            }
        }
    }
    let failures: Vec<String> = rounds
        .iter()
        .enumerate()
        .flat_map(|(i, round)| {
            round.iter().enumerate().filter_map(move |(v, r)| {
                r.as_ref().err().map(|e| {
                    format!(
                        "round {}, {}: {e}",
                        i + 1,
                        VARIANTS.get(v).map(|v| v.name).unwrap_or("?")
                    )
                })
            })
        })
        .collect();
    for failure in failures {
        let _ = writeln!(w, "\n- not measured: {failure}");
    }
    let _ = writeln!(w);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn run(billed_us: &[u64]) -> Result<Run, String> {
        Ok(Run {
            billed: billed_us
                .iter()
                .map(|u| Duration::from_micros(*u))
                .collect(),
            ..Run::default()
        })
    }

    /// Two rounds of the seven variants: bare 100 µs; the recipe adds 30 ms; the others add
    /// `ours` µs in round 1 and twice that in round 2.
    fn rounds(ours: u64) -> Rounds {
        (1..=2)
            .map(|k| {
                (0..VARIANTS.len())
                    .map(|v| match v {
                        0 => run(&[90, 100, 110]),
                        RECIPE => run(&[30_100, 30_100, 30_200]),
                        _ => run(&[100 + ours * k, 100 + ours * k, 5_000]),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn ratios_are_per_round_against_the_bare_function_of_the_same_round() {
        let r = rounds(300);
        assert_eq!(added_per_round(&r, 1), vec![300.0, 600.0]);
        assert_eq!(ratios_per_round(&r, 1, RECIPE), vec![0.01, 0.02]);
        assert_eq!(
            spread(&[0.02, f64::NAN, 0.01, 0.05]),
            Some((0.02, 0.01, 0.05))
        );
        assert_eq!(spread(&[f64::NAN]), None);
    }

    #[test]
    fn the_goal_also_gives_the_like_for_like_ratio_with_every_loop_on_a_worker() {
        let mut r = rounds(300);
        for round in r.iter_mut() {
            round[BARE_ON_WORKER] = run(&[40, 50, 60]);
            round[RECIPE_ON_WORKER] = run(&[20_050, 20_050]);
        }
        // Over bare: 300 and 600 µs of the recipe's 30 ms. Like for like: 350 and 650 µs over
        // the bare loop on a worker, of the placed recipe's 20 ms over it.
        assert_eq!(
            ratios_over(&r, 1, BARE_ON_WORKER, RECIPE_ON_WORKER),
            vec![350.0 / 20_000.0, 650.0 / 20_000.0]
        );
        let (_, verdict) = ratio_goal(&r, 1, "ours", "instant upstream");
        assert!(
            verdict.starts_with("**met**: median ×0.015, rounds ×0.010 – ×0.020; like for like"),
            "{verdict}"
        );
        assert!(
            verdict.ends_with("median ×0.025, rounds ×0.018 – ×0.033"),
            "{verdict}"
        );
        let mut md = String::new();
        render(&mut md, Duration::ZERO, &r);
        assert!(md.contains("| bare, loop on a worker | 50 µs |"), "{md}");
        assert!(!md.contains("| bare, loop on a worker | ×"), "{md}");
        assert!(
            !md.contains("| upstream recipe direct, loop on a worker | ×"),
            "{md}"
        );
    }

    #[test]
    fn a_failed_run_or_a_recipe_that_adds_nothing_gives_no_ratio() {
        let mut r = rounds(300);
        r[0][1] = Err("did not start".into());
        r[1][RECIPE] = run(&[100]);
        let ratios = ratios_per_round(&r, 1, RECIPE);
        assert!(ratios.iter().all(|x| x.is_nan()));
        // Faster than bare counts as adding nothing.
        let mut r = rounds(0);
        r[0][2] = run(&[50]);
        assert_eq!(ratios_per_round(&r, 2, RECIPE)[0], 0.0);
    }

    #[test]
    fn the_extension_goal_wants_at_most_1_ms_and_every_span() {
        let mut r = rounds(400);
        for round in r.iter_mut() {
            for (v, slot) in round.iter_mut().enumerate() {
                if let Ok(run) = slot
                    && VARIANTS[v].binary == "bench-faas"
                {
                    run.invoked = 3;
                    run.delivered = BTreeMap::from([
                        (FUNCTION_NAME.to_string(), 3),
                        ("platform invoke".to_string(), 3),
                    ]);
                }
            }
        }
        assert_eq!(extension_goal(&r), Some((true, 600.0, 0)));
        if let Ok(run) = &mut r[1][2] {
            run.delivered.insert(FUNCTION_NAME.into(), 2);
        }
        assert_eq!(extension_goal(&r), Some((false, 600.0, 1)));
        assert_eq!(extension_goal(&rounds(1_500)).map(|g| g.0), Some(false));
    }

    #[test]
    fn renders_every_variant_with_its_ratio() {
        let mut md = String::new();
        render(&mut md, Duration::from_millis(30), &rounds(300));
        assert!(md.contains("### Upstream answering after 30 ms"), "{md}");
        assert!(md.contains("| bare | 100 µs |"), "{md}");
        assert!(
            md.contains("| faas + extension (end) | ×0.015 | ×0.010 – ×0.020 | 2 of 2 |"),
            "{md}"
        );
        assert!(!md.contains("| upstream recipe direct | ×"), "{md}");
    }
}
