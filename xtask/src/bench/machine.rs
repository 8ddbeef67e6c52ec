//! The description of the machine a benchmark ran on.

use std::process::Command;

/// What the report says about the machine.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Logical CPUs available to this process (`nproc`).
    pub cpus: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    /// `rustc -V`.
    pub rustc: String,
    /// `/proc/loadavg`'s 1-minute load when the run started.
    pub load_at_start: String,
}

impl Machine {
    /// Reads the description; unknown parts say `unknown`.
    pub fn detect() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
            .arg("-V")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Self {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            cpu_model,
            kernel: non_empty(read("/proc/sys/kernel/osrelease")),
            rustc,
            load_at_start: load(),
        }
    }
}

/// The 1-, 5- and 15-minute load averages.
pub fn load() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    non_empty(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn non_empty(text: String) -> String {
    let text = text.trim().to_string();
    if text.is_empty() {
        "unknown".into()
    } else {
        text
    }
}
