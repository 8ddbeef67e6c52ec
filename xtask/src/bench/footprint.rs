//! Section 4 of `cargo xtask bench`: the extension's footprint against `rotel-agent`, both
//! forwarding OTLP/HTTP protobuf from loopback to the same counting upstream, uncompressed,
//! in the same run.
//!
//! - *start to ready*: from just before the process is started to the first accepted TCP
//!   connection on its OTLP/HTTP port (polled every 100 µs), median of [`READY_RUNS`] starts.
//!   Ours runs as an extension beside `bench-bare` under the xtask Lambda emulator (it
//!   registers, subscribes to the Telemetry API and then serves); rotel runs alone.
//! - *idle RSS*: `VmRSS` half a second after ready.
//! - *at 10,000 spans/s*: 100 requests/s of 100 spans for [`LOAD_SECONDS`] s; peak RSS
//!   (`VmHWM`) and CPU (utime + stime from `/proc/<pid>/stat`) over the load; spans delivered
//!   upstream. Ours gets 40 invocations a second meanwhile ([`INVOKE_GAP`]; as on Lambda,
//!   where it exports between invocations); `bench-bare` emits no span itself.
//! - *maximum*: two connections posting 100-span requests back to back for
//!   [`MAX_SECONDS`] s; spans delivered upstream per second over that window.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::otlp_load::{CountingUpstream, encode_request, load_client, post_traces};
use super::stats::Summary;
use crate::servers::free_port;
use lambda_emulator::{Emulator, FunctionSpec, InvokeOptions, memory_kb};

/// Starts measured for start to ready.
pub const READY_RUNS: usize = 20;
/// Seconds of the 10,000 spans/s load.
pub const LOAD_SECONDS: u64 = 5;
/// Seconds of the maximum-throughput load.
pub const MAX_SECONDS: u64 = 3;
/// Spans per request of both loads.
const SPANS_PER_REQUEST: usize = 100;
/// The least time between the starts of two invocations of `bench-bare` beside ours during
/// the loads: 40 a second. The extension used to wait for each invocation's data (here the
/// Telemetry API's `platform.runtimeDone`, buffered 25 ms) before its next `/next`, which set
/// about that pace by itself (~37 a second); since it asks for its next event at once when the
/// invocation does not export at its end, the loop would run as fast as the emulator answers
/// (~420 a second), and the comparison with rotel-agent (which gets no invocations) would
/// measure the invocation rate instead. A fixed pace keeps it the same from run to run.
const INVOKE_GAP: Duration = Duration::from_millis(25);

/// Invokes `emulator` until `stop`, at most one invocation start per [`INVOKE_GAP`]; counts
/// the invocations that succeeded in `done`.
fn paced_invocations(emulator: &Emulator, stop: &AtomicBool, done: &AtomicU64) {
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        if emulator.invoke(b"{}", InvokeOptions::default()).is_ok() {
            done.fetch_add(1, Ordering::SeqCst);
        }
        thread::sleep(INVOKE_GAP.saturating_sub(started.elapsed()));
    }
}

/// What was measured for one collector.
#[derive(Debug, Clone, Default)]
pub struct Footprint {
    /// `faas-otel-extension` or `rotel-agent`.
    pub name: String,
    /// Binary size in bytes.
    pub binary_bytes: u64,
    /// Start to ready of every run.
    pub ready: Vec<Duration>,
    /// `VmRSS` at idle, KiB.
    pub idle_rss_kb: u64,
    /// `VmHWM` after the 10,000 spans/s load, KiB.
    pub load_peak_rss_kb: u64,
    /// CPU time over the 10,000 spans/s load, as a share of one core.
    pub load_cpu_share: f64,
    /// Spans sent and spans delivered upstream during (and 5 s after) the load.
    pub load_delivery: (u64, u64),
    /// Spans delivered upstream per second at the maximum load (until the last delivery).
    pub max_spans_per_second: f64,
    /// Spans the collector answered 2xx to per second at the maximum load.
    pub max_accepted_per_second: f64,
    /// Requests the upstream could not read as OTLP protobuf (must be 0).
    pub malformed_upstream: u64,
}

/// The process under test: a child we started, or the extension inside an emulator.
enum Running {
    Alone(Child),
    Extension(Emulator),
}

impl Running {
    fn pid(&self) -> Option<u32> {
        match self {
            Self::Alone(child) => Some(child.id()),
            Self::Extension(emulator) => emulator
                .process_memory()
                .into_iter()
                .find(|p| p.name == "faas-otel-extension")
                .map(|p| p.pid),
        }
    }

    fn stop(self) {
        match self {
            Self::Alone(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Self::Extension(emulator) => {
                let _ = emulator.shutdown();
            }
        }
    }
}

/// How to start one collector listening on `port`, forwarding to `upstream`.
pub trait Collector {
    /// The name in the report.
    fn name(&self) -> &str;
    /// The binary.
    fn binary(&self) -> &Path;
    /// Starts it; it must come to listen on `127.0.0.1:port`.
    fn start(&self, port: u16, upstream: &str, log: &Path) -> Result<RunningCollector>;
}

/// A started collector (opaque).
pub struct RunningCollector(Running);

/// `faas-otel-extension` beside `bench-bare` under the emulator.
pub struct Ours {
    /// The extension binary.
    pub extension: PathBuf,
    /// The `bench-bare` binary (the runtime beside it).
    pub runtime: PathBuf,
}

impl Collector for Ours {
    fn name(&self) -> &str {
        "faas-otel-extension"
    }

    fn binary(&self) -> &Path {
        &self.extension
    }

    fn start(&self, port: u16, upstream: &str, log: &Path) -> Result<RunningCollector> {
        let emulator = Emulator::start("footprint")?;
        emulator.log_to(log)?;
        let mut spec = FunctionSpec::new(&self.runtime);
        spec.extensions.push(self.extension.clone());
        spec.memory_mb = 1024;
        spec.env = vec![
            (
                "FAAS_OTEL_EXTENSION_LISTEN".into(),
                format!("127.0.0.1:{port}"),
            ),
            (
                "FAAS_OTEL_EXTENSION_TELEMETRY_LISTEN".into(),
                format!("127.0.0.1:{}", free_port()?),
            ),
            ("FAAS_OTEL_EXTENSION_ENDPOINT".into(), upstream.to_owned()),
            ("FAAS_OTEL_EXTENSION_COMPRESSION".into(), "none".into()),
        ];
        emulator.spawn(spec)?;
        Ok(RunningCollector(Running::Extension(emulator)))
    }
}

/// `rotel-agent` (PyPI `rotel`) as a plain OTLP forwarder.
pub struct Rotel {
    /// The `rotel-agent` binary.
    pub agent: PathBuf,
}

impl Collector for Rotel {
    fn name(&self) -> &str {
        "rotel-agent"
    }

    fn binary(&self) -> &Path {
        &self.agent
    }

    fn start(&self, port: u16, upstream: &str, log: &Path) -> Result<RunningCollector> {
        let child = super::rotel_agent::spawn(
            &self.agent,
            port,
            upstream,
            log,
            "rotel",
            &["--otlp-exporter-compression", "none"],
        )?;
        Ok(RunningCollector(Running::Alone(child)))
    }
}

fn wait_listening(port: u16, from: Instant, timeout: Duration) -> Result<Duration> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(50)).is_ok() {
            return Ok(from.elapsed());
        }
        if from.elapsed() > timeout {
            bail!("nothing listened on 127.0.0.1:{port} within {timeout:?}");
        }
        thread::sleep(Duration::from_micros(100));
    }
}

/// utime + stime in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after_name` starts at field 3.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Measures `collector` (see the module documentation).
pub fn measure(collector: &dyn Collector, log: &Path, runs: usize) -> Result<Footprint> {
    let mut footprint = Footprint {
        name: collector.name().to_owned(),
        binary_bytes: std::fs::metadata(collector.binary())
            .map(|m| m.len())
            .unwrap_or(0),
        ..Footprint::default()
    };
    let upstream = CountingUpstream::start()?;
    for _ in 0..runs {
        let port = free_port()?;
        let from = Instant::now();
        let running = collector.start(port, &upstream.endpoint(), log)?;
        let ready = wait_listening(port, from, Duration::from_secs(10));
        running.0.stop();
        footprint.ready.push(ready?);
    }

    let port = free_port()?;
    let from = Instant::now();
    let running = collector.start(port, &upstream.endpoint(), log)?.0;
    wait_listening(port, from, Duration::from_secs(10))?;
    thread::sleep(Duration::from_millis(500));
    let pid = running
        .pid()
        .context("the collector's process is not running")?;
    footprint.idle_rss_kb = memory_kb(pid).map(|(_, rss)| rss).unwrap_or(0);

    let stop = Arc::new(AtomicBool::new(false));
    let invoker = match &running {
        Running::Extension(emulator) => Some(emulator),
        Running::Alone(_) => None,
    };
    let result = thread::scope(|scope| -> Result<()> {
        if let Some(emulator) = invoker {
            let stop = stop.clone();
            scope.spawn(move || paced_invocations(emulator, &stop, &AtomicU64::new(0)));
        }
        // 10,000 spans/s.
        let ticks_before = cpu_ticks(pid).unwrap_or(0);
        let before = upstream.spans();
        let sent = paced_load(port, LOAD_SECONDS)?;
        let ticks = cpu_ticks(pid).unwrap_or(0).saturating_sub(ticks_before);
        footprint.load_cpu_share = ticks as f64 / clock_ticks_per_second() / LOAD_SECONDS as f64;
        footprint.load_peak_rss_kb = memory_kb(pid).map(|(hwm, _)| hwm).unwrap_or(0);
        let drain = Instant::now();
        while upstream.spans() - before < sent && drain.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(20));
        }
        footprint.load_delivery = (sent, upstream.spans() - before);

        // Maximum.
        let before = upstream.load_spans();
        let started = Instant::now();
        let blasting = Arc::new(AtomicU64::new(0));
        thread::scope(|inner| {
            for connection in 0..2u64 {
                let blasting = blasting.clone();
                inner.spawn(move || {
                    let _ = blast(port, connection, MAX_SECONDS, &blasting);
                });
            }
        });
        // Forwarded = the load's spans delivered upstream; the window ends at their last
        // delivery (a collector that buffers keeps delivering after the senders stopped; ours
        // also delivers a platform span per invocation meanwhile, not counted here).
        let (mut last, mut last_change) = (upstream.load_spans(), Instant::now());
        while last_change.elapsed() < Duration::from_millis(500)
            && started.elapsed() < Duration::from_secs(MAX_SECONDS + 10)
        {
            thread::sleep(Duration::from_millis(10));
            let now = upstream.load_spans();
            if now != last {
                (last, last_change) = (now, Instant::now());
            }
        }
        let window = last_change.duration_since(started).as_secs_f64();
        footprint.max_accepted_per_second =
            blasting.load(Ordering::SeqCst) as f64 / MAX_SECONDS as f64;
        footprint.max_spans_per_second = (last - before) as f64 / window;
        stop.store(true, Ordering::SeqCst);
        Ok(())
    });
    running.stop();
    result?;
    footprint.malformed_upstream = upstream.malformed();
    Ok(footprint)
}

/// 100 requests of 100 spans per second for `seconds`; returns the spans accepted (2xx).
fn paced_load(port: u16, seconds: u64) -> Result<u64> {
    let client = load_client();
    let requests = seconds * 100;
    let started = Instant::now();
    let mut accepted = 0;
    for i in 0..requests {
        let due = started + Duration::from_millis(i * 10);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let status = post_traces(&client, port, &encode_request(SPANS_PER_REQUEST, i))?;
        if (200..300).contains(&status) {
            accepted += SPANS_PER_REQUEST as u64;
        }
    }
    Ok(accepted)
}

/// Posts 100-span requests back to back for `seconds`.
fn blast(port: u16, connection: u64, seconds: u64, sent: &AtomicU64) -> Result<()> {
    let client = load_client();
    let started = Instant::now();
    let mut i = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let seed = (connection << 40) | (1 << 32) | i;
        post_traces(&client, port, &encode_request(SPANS_PER_REQUEST, seed))?;
        sent.fetch_add(SPANS_PER_REQUEST as u64, Ordering::SeqCst);
        i += 1;
    }
    Ok(())
}

/// Median start to ready in milliseconds and its p99.
fn ready_ms(footprint: &Footprint) -> (f64, f64) {
    Summary::of(&footprint.ready)
        .map(|s| (s.median_us / 1e3, s.p99_us / 1e3))
        .unwrap_or((f64::NAN, f64::NAN))
}

/// The section's table: ours against rotel (the baseline), with ratios.
pub fn render(ours: &Footprint, rotel: &Footprint) -> String {
    let (ours_ready, ours_p99) = ready_ms(ours);
    let (rotel_ready, rotel_p99) = ready_ms(rotel);
    let mb = |kb: u64| kb as f64 / 1024.0;
    let row =
        |what: &str, a: String, b: String, r: String| format!("| {what} | {a} | {b} | {r} |\n");
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("×{:.2}", a / b)
        } else {
            "-".into()
        }
    };
    let mut text = String::from(
        "Both forward OTLP/HTTP protobuf received on 127.0.0.1 to the same counting upstream \
         (ours uncompressed; rotel-agent always gzips), release builds, in this run. \
         Start to ready: process start to the first accepted connection on the OTLP port \
         (ours also registers with the emulated Extensions API and subscribes to its Telemetry \
         API first). Load: 100 requests/s of 100 spans for 5 s; maximum: two connections \
         posting 100-span requests back to back for 3 s, spans delivered upstream per second \
         until the last delivery. Ours gets 40 invocations of `bench-bare` a second meanwhile, and also forwards a `platform invoke` span per invocation (so it can deliver more spans than were sent).\n\n",
    );
    text.push_str(
        "| | faas-otel-extension | rotel-agent (baseline) | ratio |\n|---|---|---|---|\n",
    );
    text.push_str(&row(
        "binary size",
        format!("{:.2} MB", ours.binary_bytes as f64 / 1048576.0),
        format!("{:.2} MB", rotel.binary_bytes as f64 / 1048576.0),
        ratio(ours.binary_bytes as f64, rotel.binary_bytes as f64),
    ));
    text.push_str(&row(
        &format!("start to ready, median of {} (p99)", ours.ready.len()),
        format!("{ours_ready:.2} ms ({ours_p99:.2})"),
        format!("{rotel_ready:.2} ms ({rotel_p99:.2})"),
        ratio(ours_ready, rotel_ready),
    ));
    text.push_str(&row(
        "idle RSS",
        format!("{:.1} MB", mb(ours.idle_rss_kb)),
        format!("{:.1} MB", mb(rotel.idle_rss_kb)),
        ratio(ours.idle_rss_kb as f64, rotel.idle_rss_kb as f64),
    ));
    text.push_str(&row(
        "peak RSS at 10,000 spans/s",
        format!("{:.1} MB", mb(ours.load_peak_rss_kb)),
        format!("{:.1} MB", mb(rotel.load_peak_rss_kb)),
        ratio(ours.load_peak_rss_kb as f64, rotel.load_peak_rss_kb as f64),
    ));
    text.push_str(&row(
        "CPU at 10,000 spans/s (share of one core)",
        format!("{:.1} %", ours.load_cpu_share * 100.0),
        format!("{:.1} %", rotel.load_cpu_share * 100.0),
        ratio(ours.load_cpu_share, rotel.load_cpu_share),
    ));
    text.push_str(&row(
        "spans delivered of those sent at 10,000 spans/s",
        format!("{} of {}", ours.load_delivery.1, ours.load_delivery.0),
        format!("{} of {}", rotel.load_delivery.1, rotel.load_delivery.0),
        "-".into(),
    ));
    text.push_str(&row(
        "maximum spans/s forwarded (accepted)",
        format!(
            "{:.0} ({:.0})",
            ours.max_spans_per_second, ours.max_accepted_per_second
        ),
        format!(
            "{:.0} ({:.0})",
            rotel.max_spans_per_second, rotel.max_accepted_per_second
        ),
        ratio(ours.max_spans_per_second, rotel.max_spans_per_second),
    ));
    for measured in [ours, rotel] {
        if measured.malformed_upstream > 0 {
            text.push_str(&format!(
                "\n{} sent {} request(s) upstream that were not OTLP protobuf.\n",
                measured.name, measured.malformed_upstream
            ));
        }
    }
    text
}

/// The goal "ready in under 10 ms with idle RSS under 10 MB and beats rotel on start time,
/// memory and throughput": whether it is met, and the detail.
pub fn goal(ours: &Footprint, rotel: &Footprint) -> (bool, String) {
    let (ours_ready, _) = ready_ms(ours);
    let (rotel_ready, _) = ready_ms(rotel);
    let idle_mb = ours.idle_rss_kb as f64 / 1024.0;
    let checks = [
        (
            ours_ready < 10.0,
            format!("ready in {ours_ready:.2} ms (goal < 10 ms)"),
        ),
        (
            idle_mb < 10.0,
            format!("idle RSS {idle_mb:.1} MB (goal < 10 MB)"),
        ),
        (
            ours_ready < rotel_ready,
            format!("start ×{:.2} of rotel's", ours_ready / rotel_ready),
        ),
        (
            ours.idle_rss_kb < rotel.idle_rss_kb && ours.load_peak_rss_kb < rotel.load_peak_rss_kb,
            format!(
                "memory ×{:.2} idle, ×{:.2} under load of rotel's",
                ours.idle_rss_kb as f64 / rotel.idle_rss_kb as f64,
                ours.load_peak_rss_kb as f64 / rotel.load_peak_rss_kb as f64
            ),
        ),
        (
            ours.max_spans_per_second > rotel.max_spans_per_second,
            format!(
                "throughput ×{:.2} of rotel's",
                ours.max_spans_per_second / rotel.max_spans_per_second
            ),
        ),
        (
            ours.load_cpu_share <= rotel.load_cpu_share,
            format!(
                "CPU at 10,000 spans/s ×{:.2} of rotel's",
                ours.load_cpu_share / rotel.load_cpu_share
            ),
        ),
    ];
    let met = checks.iter().all(|(ok, _)| *ok);
    let detail = checks
        .iter()
        .map(|(ok, text)| {
            if *ok {
                text.clone()
            } else {
                format!("{text} **(missed)**")
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    (met, detail)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Measures `rotel-agent` at `$ROTEL_AGENT` (manual: `ROTEL_AGENT=... cargo test -p xtask
    /// footprint -- --ignored --nocapture`).
    #[test]
    #[ignore = "needs rotel-agent; run by hand"]
    fn rotel_footprint() {
        let agent = PathBuf::from(std::env::var("ROTEL_AGENT").unwrap());
        let log = std::env::temp_dir().join("footprint-test.log");
        let footprint = measure(&Rotel { agent }, &log, 3).unwrap();
        eprintln!("{footprint:?}");
        assert_eq!(footprint.load_delivery.0, footprint.load_delivery.1);
    }

    /// The 10,000 spans/s load alone against the extension at `$FAAS_OTEL_BENCH_EXTENSION`
    /// (default: the release build) for `$FAAS_OTEL_BENCH_SECONDS` (default [`LOAD_SECONDS`]),
    /// with invocations in a loop as in [`measure`], for
    /// profiling it (`perf record -a` around `cargo test -p xtask load_alone -- --ignored
    /// --nocapture`); prints its pid, CPU share and the invocations done.
    #[test]
    #[ignore = "needs the extension and bench-bare; run by hand"]
    fn load_alone() {
        let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
        let release = target.join("release");
        let extension = std::env::var_os("FAAS_OTEL_BENCH_EXTENSION")
            .map_or_else(|| super::super::extension_binary(&target), PathBuf::from);
        let ours = Ours {
            extension,
            runtime: release.join("bench-bare"),
        };
        let seconds =
            std::env::var("FAAS_OTEL_BENCH_SECONDS").map_or(LOAD_SECONDS, |s| s.parse().unwrap());
        let log = std::env::temp_dir().join("footprint-load.log");
        let upstream = CountingUpstream::start().unwrap();
        let port = free_port().unwrap();
        let running = ours.start(port, &upstream.endpoint(), &log).unwrap().0;
        wait_listening(port, Instant::now(), Duration::from_secs(30)).unwrap();
        thread::sleep(Duration::from_millis(500));
        let pid = running.pid().unwrap();
        let Running::Extension(emulator) = &running else {
            unreachable!()
        };
        let (stop, invocations) = (AtomicBool::new(false), AtomicU64::new(0));
        let (share, sent) = thread::scope(|scope| {
            scope.spawn(|| paced_invocations(emulator, &stop, &invocations));
            let before = cpu_ticks(pid).unwrap();
            let sent = paced_load(port, seconds).unwrap();
            let ticks = cpu_ticks(pid).unwrap() - before;
            stop.store(true, Ordering::SeqCst);
            (
                ticks as f64 / clock_ticks_per_second() / seconds as f64,
                sent,
            )
        });
        thread::sleep(Duration::from_secs(1));
        eprintln!(
            "pid {pid}: CPU {:.1} % of a core; {sent} spans sent, {} delivered; {} invocations",
            share * 100.0,
            upstream.load_spans(),
            invocations.load(Ordering::SeqCst),
        );
        running.stop();
    }

    /// Measures the release extension beside the release `bench-bare` (manual, as above).
    #[test]
    #[ignore = "needs the release extension and bench-bare; run by hand"]
    fn extension_footprint() {
        let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
        let release = target.join("release");
        let ours = Ours {
            extension: super::super::extension_binary(&target),
            runtime: release.join("bench-bare"),
        };
        let log = std::env::temp_dir().join("footprint-test.log");
        let footprint = measure(&ours, &log, 3).unwrap();
        eprintln!("{footprint:?}");
        // Ours also forwards a `platform invoke` span per invocation of the runtime beside it.
        assert!(footprint.load_delivery.1 >= footprint.load_delivery.0);
    }
}
