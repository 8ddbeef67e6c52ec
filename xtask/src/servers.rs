//! Local servers the tests talk to, each owned by a guard that stops it when dropped.
//!
//! For now there is one: moto (`moto_server`), the AWS emulator, on `127.0.0.1`. It is started
//! with port 0, so the kernel picks a free port as moto binds it (no bind-drop-reuse race), and
//! the port is read from the line moto's HTTP server (werkzeug) logs: ` * Running on
//! http://127.0.0.1:PORT`.
//! The guard kills and reaps the process on every path out of `cargo xtask test`: normal end,
//! failed tests, an error, or a panic (unwinding drops it). A signal kills xtask without running
//! destructors, so two more safety nets cover that: the server stays in xtask's own process group
//! (a Ctrl-C in the terminal reaches it too), and it is started through [`LAUNCHER`], which asks
//! Linux to kill it when xtask dies (even by `kill -9`).

use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::local_http;
use crate::venv::Venv;

/// How long moto may take to say its port and answer its first request.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a stopped server may take to exit after SIGKILL before we stop waiting.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A Python launcher that sets `prctl(PR_SET_PDEATHSIG, SIGKILL)` (kept across `exec`) and then
/// execs the server: when xtask dies, whatever the cause, the kernel kills the server.
/// Arguments: xtask's pid, then the server's command line.
const LAUNCHER: &str = r#"
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
except Exception:
    pass  # no prctl (not Linux): the guard in xtask still stops the server on normal paths
if os.getppid() != int(sys.argv[1]):
    sys.exit("xtask exited before the server started")
os.execv(sys.argv[2], sys.argv[2:])
"#;

/// The variable through which `cargo xtask test` tells the tests where moto is:
/// `http://127.0.0.1:PORT`.
pub const MOTO_ENDPOINT_VAR: &str = "FAAS_OTEL_TEST_MOTO_ENDPOINT";

/// For xtask's own tests: moto's port when they run under `cargo xtask test`
/// ([`MOTO_ENDPOINT_VAR`] set), else `None` after saying so on stderr.
#[cfg(test)]
pub fn moto_port_under_xtask() -> Result<Option<u16>> {
    let Ok(endpoint) = std::env::var(MOTO_ENDPOINT_VAR) else {
        eprintln!("{MOTO_ENDPOINT_VAR} not set (not under `cargo xtask test`): nothing to check");
        return Ok(None);
    };
    let port = endpoint
        .strip_prefix("http://127.0.0.1:")
        .with_context(|| format!("unexpected endpoint {endpoint}"))?
        .parse()
        .with_context(|| format!("unexpected endpoint {endpoint}"))?;
    Ok(Some(port))
}

/// Lines of a server log printed when something failed.
pub const LOG_TAIL_LINES: usize = 30;

/// A port number that was free a moment ago on `127.0.0.1`: bound to port 0, then released.
///
/// RACY by nature: another process may take the number before the caller's child binds it.
/// Only for child processes that must be told a number and cannot be handed a bound listener
/// or report the port they bound (the demo's and the bench's extension and rotel ports); an
/// in-process server binds `127.0.0.1:0` and keeps its listener instead, and moto is started
/// on port 0 (see [`MotoServer::start`]).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// What moto's HTTP server (werkzeug) logs once it listens; the port follows.
const LISTENING_PREFIX: &str = " * Running on http://127.0.0.1:";

/// The port moto listens on, from its log `text`: the number after [`LISTENING_PREFIX`].
pub fn port_from_log(text: &str) -> Option<u16> {
    text.lines().find_map(|line| {
        let rest = line.split_once(LISTENING_PREFIX.trim_start())?.1;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok().filter(|&port| port != 0)
    })
}

/// A running `moto_server`; dropping it stops the process.
#[derive(Debug)]
pub struct MotoServer {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl MotoServer {
    /// Starts `moto_server` from `venv` on port 0 (the kernel picks a free one), logging to
    /// `log_dir/moto.log`; reads the port from the log, waits until it answers HTTP and switches
    /// Lambda to its Docker-free mode.
    pub fn start(venv: &Venv, log_dir: &Path) -> Result<Self> {
        fs::create_dir_all(log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
        let log = log_dir.join("moto.log");
        let log_file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let program = venv.bin("moto_server");
        let child = Command::new(venv.python())
            .args(["-c", LAUNCHER, &std::process::id().to_string()])
            .arg(&program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            // Unbuffered, so the log is complete when a failure prints its tail.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        eprintln!(
            "xtask:   moto_server started (pid {}), log {}",
            child.id(),
            log.display()
        );
        // From here on the guard owns the process: any early return stops it.
        let mut server = Self {
            child: Some(child),
            port: 0,
            log,
        };
        server.wait_until_ready()?;
        let (status, body) = local_http::json(
            server.port,
            "POST",
            "/moto-api/config",
            Some(r#"{"lambda":{"use_docker":false}}"#),
        )
        .context("configuring moto (POST /moto-api/config)")?;
        if !(200..300).contains(&status) {
            bail!("POST /moto-api/config answered {status}: {body}");
        }
        eprintln!("xtask:   moto configured: lambda.use_docker=false");
        Ok(server)
    }

    /// The port it listens on (on 127.0.0.1); known once [`MotoServer::start`] has returned.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The base URL the tests use, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Polls until moto has logged its port and answers `GET /moto-api/` on it; fails when the
    /// process exits or the timeout passes first.
    fn wait_until_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("moto_server exited during startup ({status})");
            }
            if self.port == 0 {
                let log = fs::read(&self.log).unwrap_or_default();
                if let Some(port) = port_from_log(&String::from_utf8_lossy(&log)) {
                    eprintln!("xtask:   moto listens on 127.0.0.1:{port}");
                    self.port = port;
                }
            }
            if self.port != 0
                && let Ok((status, _)) = local_http::json(self.port, "GET", "/moto-api/", None)
            {
                eprintln!(
                    "xtask:   moto answers (HTTP {status}) after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                bail!(
                    "moto_server did not {} within {} s",
                    if self.port == 0 {
                        format!("log `{}PORT`", LISTENING_PREFIX.trim_start())
                    } else {
                        format!("answer on 127.0.0.1:{}", self.port)
                    },
                    STARTUP_TIMEOUT.as_secs()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server: kills it and waits for it, so no zombie or orphan is left.
    /// Calling it again does nothing.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("xtask:   moto_server (pid {pid}) had already exited ({status})");
            return;
        }
        // moto keeps no state worth a graceful shutdown: SIGKILL is immediate and certain.
        if let Err(err) = child.kill() {
            eprintln!("xtask: WARNING: could not kill moto_server (pid {pid}): {err}");
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => {
                    eprintln!("xtask:   moto_server (pid {pid}) stopped");
                    return;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                Ok(None) => {
                    eprintln!("xtask: WARNING: moto_server (pid {pid}) still running after kill");
                    return;
                }
                Err(err) => {
                    eprintln!("xtask: WARNING: waiting for moto_server (pid {pid}): {err}");
                    return;
                }
            }
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// Prints the last [`LOG_TAIL_LINES`] lines of the log at `path` to stderr.
pub fn print_log_tail(name: &str, path: &Path) {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            eprintln!(
                "xtask: ---- last {LOG_TAIL_LINES} lines of {} ({name}) ----",
                path.display()
            );
            for line in tail(&text, LOG_TAIL_LINES) {
                eprintln!("  {line}");
            }
            eprintln!("xtask: ---- end of {name} log ----");
        }
        Err(err) => eprintln!("xtask: could not read {}: {err}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_nonzero_and_bindable() -> Result<()> {
        let port = free_port()?;
        assert_ne!(port, 0);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        assert_eq!(listener.local_addr()?.port(), port);
        Ok(())
    }

    #[test]
    fn the_port_is_read_from_moto_s_log() {
        let log = "\u{1b}[31m\u{1b}[1mWARNING: This is a development server.\u{1b}[0m\n \
                   * Running on http://127.0.0.1:46219\n\u{1b}[33mPress CTRL+C to quit\u{1b}[0m\n";
        assert_eq!(port_from_log(log), Some(46219));
        assert_eq!(port_from_log(" * Running on http://127.0.0.1:0\n"), None);
        assert_eq!(
            port_from_log("WARNING: This is a development server.\n"),
            None
        );
        assert_eq!(port_from_log(""), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(tail("a\nb", 30), ["a", "b"]);
        assert!(tail("", 30).is_empty());
    }
}
