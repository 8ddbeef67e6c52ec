//! [`ExportPace`]: when to export under the [`FlushStrategy`]: after an invocation (billed,
//! before the extension asks for the next event) or in the background (while the function
//! runs: at the start of the next invocation and on the interval during long ones).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::ExtensionConfig;
use crate::flush::FlushStrategy;

/// The window over which the invocation rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Adaptive: how many gaps in a row, each at most the adaptive gap, make invocations steady
/// (so the first [`STEADY_AFTER`] invocations of an environment export at the end).
pub(crate) const STEADY_AFTER: usize = 10;

/// The least time from the start of one background export an invocation start asked for to the
/// next one (or `FAAS_OTEL_EXTENSION_EXPORT_INTERVAL_MS` when shorter): at tens of invocations
/// a second, one upstream request per signal per invocation was a fifth of the extension's CPU;
/// what several invocations left goes out in one request instead.
pub(crate) const BACKGROUND_GAP: Duration = Duration::from_millis(100);

/// When to export.
#[derive(Debug, Default)]
pub(crate) struct ExportPace {
    /// Invocation starts within [`RATE_WINDOW`] (the rate rule).
    recent: VecDeque<Instant>,
    /// The rate rule's state (on above the threshold, off below half of it).
    periodic: bool,
    /// The last [`STEADY_AFTER`] + 1 invocation starts (the gap rule).
    starts: VecDeque<Instant>,
    /// No INVOKE events at all (Lambda Managed Instances): always in the background.
    background_only: bool,
    /// Whether the current invocation exports at its end.
    at_end: bool,
    /// Adaptive: whether invocations come steadily (false before the first).
    steady: bool,
    /// Whether an invocation is running: INVOKE came and its data is not in yet.
    running: bool,
    /// An invocation start asked for a background export that has not started yet.
    soon: bool,
    /// When the last background export an invocation start asked for started.
    last_soon: Option<Instant>,
    last_export: Option<Instant>,
    /// How many invocations started (numbers them for [`Self::ended_invocation`]).
    invocations: u64,
}

impl ExportPace {
    /// Periodic from the start and for good: for an extension that gets no INVOKE events (Lambda
    /// Managed Instances), so the background exporter exports every interval. The run loop
    /// knows which (`has_invoke_events`); without INVOKE, [`Self::invoked`] is never called.
    pub(crate) fn background() -> Self {
        Self {
            periodic: true,
            background_only: true,
            ..Self::default()
        }
    }

    /// Counts an invocation starting at `now` and decides, under `config.flush`, whether it
    /// exports at its end ([`Self::at_end`]). Adaptive exports at the end unless the last
    /// [`STEADY_AFTER`] gaps between invocations were each at most `config.adaptive_gap`, or
    /// the rate is above `config.periodic_above` per second (over 10 s; off below half).
    pub(crate) fn invoked(&mut self, now: Instant, config: &ExtensionConfig) {
        self.running = true;
        self.invocations = self.invocations.wrapping_add(1);
        // The interval counts from the first invocation when nothing was exported yet.
        self.last_export.get_or_insert(now);
        self.recent.push_back(now);
        while self
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        let rate = self.recent.len() as f64 / RATE_WINDOW.as_secs_f64();
        let threshold = config.periodic_above;
        if !self.periodic && rate > threshold {
            self.periodic = true;
        } else if self.periodic && rate < threshold / 2.0 {
            self.periodic = false;
        }
        self.starts.push_back(now);
        while self.starts.len() > STEADY_AFTER + 1 {
            self.starts.pop_front();
        }
        let steady_gaps = self.starts.len() == STEADY_AFTER + 1
            && self
                .starts
                .iter()
                .zip(self.starts.iter().skip(1))
                .all(|(a, b)| b.saturating_duration_since(*a) <= config.adaptive_gap);
        self.steady = steady_gaps || self.periodic;
        let at_end = match config.flush {
            FlushStrategy::End => true,
            FlushStrategy::Periodic => false,
            FlushStrategy::Adaptive => !self.steady,
        };
        if at_end != self.at_end && config.flush == FlushStrategy::Adaptive {
            let how = if at_end {
                "exporting after every invocation"
            } else {
                "exporting in the background"
            };
            eprintln!("faas-otel-extension: adaptive flush: {how}");
        }
        self.at_end = at_end;
    }

    /// Whether the current invocation exports at its end, before the next event.
    /// Whether there are no INVOKE events (Lambda Managed Instances): nothing ends an
    /// invocation for the extension, so the background exporter also moves the platform's
    /// spans, metrics and logs into the buffer and applies tail sampling before it exports.
    pub(crate) fn is_background_only(&self) -> bool {
        self.background_only
    }

    pub(crate) fn at_end(&self) -> bool {
        self.at_end && !self.background_only
    }

    /// The current invocation's data is in (or the wait for it ended): it no longer runs.
    pub(crate) fn ended(&mut self) {
        self.running = false;
    }

    /// The number of the invocation that started last (counted by [`Self::invoked`]).
    pub(crate) fn invocation(&self) -> u64 {
        self.invocations
    }

    /// [`Self::ended`], when invocation `number` is still the last one that started: a wait
    /// that outlived its invocation (it ends at that invocation's deadline, which may pass
    /// after the next INVOKE) does not end the next one.
    pub(crate) fn ended_invocation(&mut self, number: u64) {
        if number == self.invocations {
            self.ended();
        }
    }

    /// Whether background exports are on at all: not under [`FlushStrategy::End`] (except for
    /// memory pressure, which the caller checks).
    pub(crate) fn background_on(&self, strategy: FlushStrategy) -> bool {
        self.background_only || strategy != FlushStrategy::End
    }

    /// Whether exports are in the background now: no INVOKE events, [`FlushStrategy::Periodic`],
    /// or adaptive once steady (then memory pressure also exports in the background; while
    /// invocations export at their end, the cap answers instead).
    pub(crate) fn in_background(&self, strategy: FlushStrategy) -> bool {
        self.background_only
            || strategy == FlushStrategy::Periodic
            || (strategy == FlushStrategy::Adaptive && self.steady)
    }

    /// Whether the interval's background export is due at `now`: `interval` passed since the
    /// last export, and an invocation is running (in Lambda's default environments the
    /// extension only runs then, and an export started while the extension is about to ask
    /// for the next event would be frozen mid-way), or there are no invocations at all.
    pub(crate) fn tick_due(&self, now: Instant, interval: Duration) -> bool {
        (self.running || self.background_only)
            && self
                .last_export
                .is_none_or(|last| now.saturating_duration_since(last) >= interval)
    }

    /// Notes that an invocation start asks for a background export of what is held.
    pub(crate) fn ask_soon(&mut self) {
        self.soon = true;
    }

    /// Whether the background export an invocation start asked for is due at `now`, and then
    /// no longer asked for: [`BACKGROUND_GAP`] (or `interval` when shorter) passed since the
    /// last one started, and this is the look right after the ask (`asked`: as before the gap,
    /// even when the invocation already ended), or an invocation is running (see
    /// [`Self::tick_due`]), or there are no invocations at all. Asked for sooner, it is due at
    /// the first look after the gap while that invocation still runs, else at the next
    /// invocation's start.
    pub(crate) fn take_soon(&mut self, now: Instant, interval: Duration, asked: bool) -> bool {
        let gap = BACKGROUND_GAP.min(interval);
        let due = self.soon
            && (asked || self.running || self.background_only)
            && self
                .last_soon
                .is_none_or(|last| now.saturating_duration_since(last) >= gap);
        if due {
            self.soon = false;
            self.last_soon = Some(now);
        }
        due
    }

    /// Notes an export that just ended.
    pub(crate) fn exported(&mut self, at: Instant) {
        self.last_export = Some(at);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use faas_core::env::Env;

    fn config(pairs: &[(&str, &str)]) -> ExtensionConfig {
        let mut all = vec![("FAAS_OTEL_EXTENSION_ENDPOINT", "http://x")];
        all.extend_from_slice(pairs);
        ExtensionConfig::from_env(&Env::from_pairs(all)).unwrap()
    }

    /// `at_end` of invocations starting at these offsets (ms).
    fn decisions(config: &ExtensionConfig, offsets_ms: &[u64]) -> Vec<bool> {
        let mut pace = ExportPace::default();
        let start = Instant::now();
        offsets_ms
            .iter()
            .map(|ms| {
                pace.invoked(start + Duration::from_millis(*ms), config);
                pace.ended();
                pace.at_end()
            })
            .collect()
    }

    #[test]
    fn end_and_periodic_do_not_adapt() {
        let every_second: Vec<u64> = (0..30).map(|i| i * 1000).collect();
        assert!(
            decisions(
                &config(&[("FAAS_OTEL_EXTENSION_FLUSH", "end")]),
                &every_second
            )
            .iter()
            .all(|e| *e)
        );
        assert!(
            decisions(
                &config(&[("FAAS_OTEL_EXTENSION_FLUSH", "periodic")]),
                &every_second
            )
            .iter()
            .all(|e| !*e)
        );
    }

    #[test]
    fn adaptive_exports_at_the_end_first_and_after_a_long_gap() {
        let config = config(&[("FAAS_OTEL_EXTENSION_ADAPTIVE_GAP_MS", "2000")]);
        // 12 invocations a second apart, a 3 s gap, 11 more.
        let mut offsets: Vec<u64> = (0..12).map(|i| i * 1000).collect();
        offsets.extend((0..11).map(|i| 14_000 + i * 1000));
        let at_end = decisions(&config, &offsets);
        let expected: Vec<bool> = (0..12)
            .map(|i| i < STEADY_AFTER)
            .chain((0..11).map(|i| i < STEADY_AFTER))
            .collect();
        assert_eq!(at_end, expected);
    }

    #[test]
    fn adaptive_above_the_rate_is_in_the_background_from_early_on() {
        let config = config(&[
            ("FAAS_OTEL_EXTENSION_ADAPTIVE_GAP_MS", "0"),
            ("FAAS_OTEL_EXTENSION_PERIODIC_ABOVE", "0.5"),
        ]);
        // 6 invocations within 10 s: 0.6 per second, above 0.5.
        let at_end = decisions(&config, &[0, 100, 200, 300, 400, 500]);
        assert_eq!(at_end, [true, true, true, true, true, false]);
    }

    #[test]
    fn ticks_only_while_an_invocation_runs_or_without_invocations() {
        let config = config(&[]);
        let interval = Duration::from_secs(1);
        let start = Instant::now();
        let mut pace = ExportPace::default();
        assert!(
            !pace.in_background(FlushStrategy::Adaptive),
            "before any invocation"
        );
        assert!(!pace.tick_due(start, interval));
        pace.invoked(start, &config);
        assert!(!pace.tick_due(start, interval));
        assert!(pace.tick_due(start + interval, interval));
        pace.exported(start);
        assert!(!pace.tick_due(start + Duration::from_millis(500), interval));
        assert!(pace.tick_due(start + interval, interval));
        pace.ended();
        assert!(!pace.tick_due(start + interval * 2, interval));
        let lmi = ExportPace::background();
        assert!(lmi.tick_due(start, interval) && !lmi.at_end());
        assert!(lmi.in_background(FlushStrategy::End));
        assert!(pace.in_background(FlushStrategy::Periodic));
        assert!(
            !pace.in_background(FlushStrategy::Adaptive),
            "the first invocation"
        );
        assert!(lmi.background_on(FlushStrategy::End));
        assert!(!pace.background_on(FlushStrategy::End));
        assert!(pace.background_on(FlushStrategy::Adaptive));
    }

    #[test]
    fn an_invocation_start_exports_at_most_once_per_gap_and_only_while_one_runs() {
        let config = config(&[]);
        let interval = Duration::from_secs(1);
        let start = Instant::now();
        let mut pace = ExportPace::default();
        assert!(!pace.take_soon(start, interval, false), "not asked for");
        pace.invoked(start, &config);
        pace.ask_soon();
        assert!(
            pace.take_soon(start, interval, false),
            "the first one at once"
        );
        pace.exported(start);
        pace.ask_soon();
        assert!(!pace.take_soon(start + BACKGROUND_GAP / 2, interval, false));
        let gap_later = start + BACKGROUND_GAP;
        assert!(pace.take_soon(gap_later, interval, false));
        assert!(!pace.take_soon(gap_later, interval, false), "taken");
        pace.ask_soon();
        assert!(!pace.take_soon(gap_later + BACKGROUND_GAP / 2, interval, false));
        pace.ended();
        assert!(
            !pace.take_soon(gap_later + BACKGROUND_GAP * 2, interval, false),
            "no invocation runs"
        );
        pace.invoked(gap_later + BACKGROUND_GAP * 3, &config);
        assert!(pace.take_soon(gap_later + BACKGROUND_GAP * 3, interval, false));
        // A shorter interval shortens the gap.
        let at = gap_later + BACKGROUND_GAP * 3;
        pace.ask_soon();
        let short = Duration::from_millis(10);
        assert!(!pace.take_soon(at + short / 2, short, false));
        assert!(pace.take_soon(at + short, short, false));
        let mut lmi = ExportPace::background();
        lmi.ask_soon();
        assert!(
            lmi.take_soon(start, interval, false),
            "nothing exported yet"
        );
        // Right after the ask, an invocation that already ended does not hold it back.
        let mut ended = ExportPace::default();
        ended.invoked(start, &config);
        ended.ended();
        ended.ask_soon();
        assert!(!ended.take_soon(start, interval, false));
        assert!(ended.take_soon(start, interval, true));
    }

    #[test]
    fn a_wait_that_outlived_its_invocation_does_not_end_the_next_one() {
        let config = config(&[]);
        let interval = Duration::from_secs(1);
        let start = Instant::now();
        let mut pace = ExportPace::default();
        pace.invoked(start, &config);
        let first = pace.invocation();
        pace.invoked(start + interval, &config);
        assert_eq!(pace.invocation(), first + 1);
        pace.ended_invocation(first);
        assert!(
            pace.tick_due(start + interval * 2, interval),
            "the second invocation still runs"
        );
        pace.ended_invocation(first + 1);
        assert!(!pace.tick_due(start + interval * 3, interval));
    }
}
