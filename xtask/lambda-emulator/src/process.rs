//! The processes of an emulated function: the environment Lambda gives them, their output,
//! and stopping them.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::function_spec::FunctionSpec;
use crate::ids;
use crate::state::Shared;

/// One started process.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub is_runtime: bool,
}

/// The environment Lambda sets for a function (and its extensions), then `spec.env` on top.
pub fn lambda_env(
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
            u128::from(ids::random_u64())
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
pub fn start(
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
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Copies each output line of a process to the log (the file set by
/// `Emulator::log_to`, else stderr, prefixed with the function and process
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
pub fn open_log(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Sends `signal` (`TERM`, `KILL`) to `pid` with kill(1): std can only SIGKILL, and the
/// workspace forbids `unsafe`.
pub fn signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits until `child` exits or `deadline` passes; returns whether it exited.
pub fn wait_until(child: &mut Child, deadline: Instant) -> bool {
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// SIGKILLs `child` and reaps it.
pub fn kill(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
}
