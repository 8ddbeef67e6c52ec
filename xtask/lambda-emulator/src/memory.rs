//! Resident memory of processes, from `/proc/<pid>/status` (Linux): what `maxMemoryUsedMB`
//! of the reports and [`crate::Emulator::process_memory`] are made of.

/// Peak and current resident memory of one process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMemory {
    /// The executable's file name (`bootstrap`, the extension's name).
    pub name: String,
    /// The process id.
    pub pid: u32,
    /// `VmHWM`: peak resident set size, KiB.
    pub peak_rss_kb: u64,
    /// `VmRSS`: resident set size now, KiB.
    pub rss_kb: u64,
}

/// Reads `VmHWM` and `VmRSS` of `pid` (KiB); `None` when the process is gone (or this is not
/// Linux).
pub fn memory_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// `maxMemoryUsedMB`: the sum of the peak resident sizes of the environment's processes
/// (runtime and extensions share the function's memory on Lambda), in MB rounded up.
pub(crate) fn peak_rss_mb(pids: &[u32]) -> u64 {
    let kb: u64 = pids
        .iter()
        .filter_map(|p| memory_kb(*p))
        .map(|(hwm, _)| hwm)
        .sum();
    kb.div_ceil(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_memory() {
        let (hwm, rss) = memory_kb(std::process::id()).unwrap_or_default();
        assert!(hwm > 0 && rss > 0 && hwm >= rss, "VmHWM {hwm} VmRSS {rss}");
        assert!(peak_rss_mb(&[std::process::id()]) >= 1);
        assert_eq!(peak_rss_mb(&[u32::MAX]), 0);
    }
}
