//! The processes of an emulated function: what to start ([`FunctionSpec`]), the environment
//! Lambda gives them, their output, their peak memory, and stopping them.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use super::state::Shared;

/// What to run as one Lambda function: the runtime binary (`bootstrap`), its environment
/// variables, the extension binaries started beside it, its memory size and timeout.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The function's executable (a custom runtime's `bootstrap`).
    pub binary: PathBuf,
    /// Extra environment variables (the function's configuration); they override the Lambda
    /// defaults set by the emulator, except `AWS_LAMBDA_RUNTIME_API`.
    pub env: Vec<(String, String)>,
    /// External extensions (`/opt/extensions/*`), started before the runtime.
    pub extensions: Vec<PathBuf>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and `memorySizeMB` of the reports.
    pub memory_mb: u32,
    /// The invocation timeout: `Lambda-Runtime-Deadline-Ms` is delivery time plus this, and an
    /// invoke phase that lasts longer times out.
    pub timeout: Duration,
}

impl FunctionSpec {
    /// A spec for `binary` with Lambda's console defaults: 128 MB, 3 s, no extension, no
    /// extra variable.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            env: Vec::new(),
            extensions: Vec::new(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
        }
    }
}

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

/// One started process.
#[derive(Debug)]
pub(crate) struct Proc {
    pub name: String,
    pub child: Child,
    pub is_runtime: bool,
}

/// The environment Lambda sets for a function (and its extensions), then `spec.env` on top.
pub(crate) fn lambda_env(
    shared: &Shared,
    spec: &FunctionSpec,
    runtime_api: &str,
) -> BTreeMap<String, String> {
    let name = &shared.name;
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("PATH", "/usr/local/bin:/usr/bin:/bin".into());
    set("LANG", "en_US.UTF-8".into());
    set("TZ", ":UTC".into());
    set("AWS_REGION", shared.region.clone());
    set("AWS_DEFAULT_REGION", shared.region.clone());
    set("AWS_LAMBDA_FUNCTION_NAME", name.clone());
    set("AWS_LAMBDA_FUNCTION_VERSION", shared.version.clone());
    set(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        spec.memory_mb.to_string(),
    );
    set("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"));
    set(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        format!(
            "2026/01/01/[{}]{:032x}",
            shared.version,
            u128::from(super::ids::random_u64())
        ),
    );
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    set("_HANDLER", "bootstrap".into());
    let task_root = spec
        .binary
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| ".".into());
    set("LAMBDA_TASK_ROOT", task_root.clone());
    set("LAMBDA_RUNTIME_DIR", task_root);
    // Lambda hands the execution role's temporary credentials to the function this way.
    set("AWS_ACCESS_KEY_ID", "ASIAEMULATOREXAMPLE".into());
    set("AWS_SECRET_ACCESS_KEY", "emulator-secret-access-key".into());
    set("AWS_SESSION_TOKEN", "emulator-session-token".into());
    for (k, v) in &spec.env {
        set(k, v.clone());
    }
    set("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string());
    env
}

/// Starts `binary` with exactly `env`, its output going through [`forward_output`].
pub(crate) fn start(
    binary: &Path,
    env: &BTreeMap<String, String>,
    shared: &Arc<Shared>,
    log: &Arc<Mutex<Option<File>>>,
    category: &'static str,
) -> Result<Child> {
    let mut child = Command::new(binary)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let name = file_name(binary);
    if let Some(out) = child.stdout.take() {
        forward_output(out, name.clone(), category, shared.clone(), log.clone());
    }
    if let Some(err) = child.stderr.take() {
        forward_output(err, name, category, shared.clone(), log.clone());
    }
    Ok(child)
}

/// The file name of `path`, for logs.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Copies each output line of a process to the log (the file set by
/// [`super::Emulator::log_to`], else xtask's stderr, prefixed with the function and process
/// names) and to the Telemetry API subscribers of `category` (`function` or `extension`).
fn forward_output(
    out: impl Read + Send + 'static,
    process: String,
    category: &'static str,
    shared: Arc<Shared>,
    log: Arc<Mutex<Option<File>>>,
) {
    std::thread::spawn(move || {
        let reader = BufReader::new(out);
        for line in reader.lines() {
            let Ok(line) = line else { return };
            {
                let mut file = log.lock().unwrap_or_else(|p| p.into_inner());
                match file.as_mut() {
                    Some(file) => {
                        let _ = writeln!(file, "[{}/{process}] {line}", shared.name);
                    }
                    None => eprintln!("[{}/{process}] {line}", shared.name),
                }
            }
            let mut state = shared.lock();
            if state
                .subscribers
                .iter()
                .any(|s| s.types.iter().any(|t| t == category))
            {
                shared.emit(&mut state, category, Value::String(line));
            }
        }
    });
}

/// Opens `path` for appending, creating its directory.
pub(crate) fn open_log(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Reads `VmHWM` and `VmRSS` of `pid` (KiB); `None` when the process is gone.
pub(crate) fn memory_kb(pid: u32) -> Option<(u64, u64)> {
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

/// Sends `signal` (`TERM`, `KILL`) to `pid` with kill(1): std can only SIGKILL, and the
/// workspace forbids `unsafe`.
pub(crate) fn signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits until `child` exits or `deadline` passes; returns whether it exited.
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> bool {
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// SIGKILLs `child` and reaps it.
pub(crate) fn kill(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
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

    #[test]
    fn spec_defaults_are_lambdas() {
        let spec = FunctionSpec::new("/x/bootstrap");
        assert_eq!(
            (spec.memory_mb, spec.timeout),
            (128, Duration::from_secs(3))
        );
        assert!(spec.env.is_empty() && spec.extensions.is_empty());
    }
}
