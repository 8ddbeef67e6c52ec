//! Local servers the tests talk to, each owned by a guard that stops it when dropped.
//!
//! For now there is one: moto (`moto_server`), the AWS emulator, on `127.0.0.1` and a free port.
//! The guard kills and reaps the process on every path out of `cargo xtask test`: normal end,
//! failed tests, an error, or a panic (unwinding drops it). A signal kills xtask without running
//! destructors, so two more safety nets cover that: the server stays in xtask's own process group
//! (a Ctrl-C in the terminal reaches it too), and it is started through [`LAUNCHER`], which asks
//! Linux to kill it when xtask dies (even by `kill -9`).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::venv::Venv;

/// How long moto may take to answer its first request.
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

/// Lines of a server log printed when something failed.
pub const LOG_TAIL_LINES: usize = 30;

/// Asks the kernel for a free TCP port on `127.0.0.1` by binding port 0.
///
/// The listener is closed before returning, so another process could take the port in between;
/// moto then fails to start and the error says so.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A running `moto_server`; dropping it stops the process.
#[derive(Debug)]
pub struct MotoServer {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl MotoServer {
    /// Starts `moto_server` from `venv` on a free port, logging to `log_dir/moto.log`, waits
    /// until it answers HTTP and switches Lambda to its Docker-free mode.
    pub fn start(venv: &Venv, log_dir: &Path) -> Result<Self> {
        fs::create_dir_all(log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
        let log = log_dir.join("moto.log");
        let log_file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let port = free_port()?;
        let program = venv.bin("moto_server");
        let child = Command::new(venv.python())
            .args(["-c", LAUNCHER, &std::process::id().to_string()])
            .arg(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Unbuffered, so the log is complete when a failure prints its tail.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        eprintln!(
            "xtask:   moto_server started (pid {}) on 127.0.0.1:{port}, log {}",
            child.id(),
            log.display()
        );
        // From here on the guard owns the process: any early return stops it.
        let mut server = Self {
            child: Some(child),
            port,
            log,
        };
        server.wait_until_ready()?;
        let (status, body) = http_request(
            port,
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

    /// The port it listens on (on 127.0.0.1).
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

    /// Polls `GET /moto-api/` until it answers, the process exits, or the timeout passes.
    fn wait_until_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("moto_server exited during startup ({status})");
            }
            if let Ok((status, _)) = http_request(self.port, "GET", "/moto-api/", None) {
                eprintln!(
                    "xtask:   moto answers (HTTP {status}) after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                bail!(
                    "moto_server did not answer on 127.0.0.1:{} within {} s",
                    self.port,
                    STARTUP_TIMEOUT.as_secs()
                );
            }
            thread::sleep(Duration::from_millis(200));
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

/// Sends one HTTP/1.1 request to `127.0.0.1:port` and returns the status code and body.
///
/// Deliberately minimal (no TLS, no chunked decoding: `Connection: close` and read to the end):
/// it only probes and configures local test servers.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    json_body: Option<&str>,
) -> Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = json_body.unwrap_or("");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if json_body.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let status = parse_status(&response)
        .with_context(|| format!("not an HTTP response: {:?}", truncate(&response, 80)))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The status code of an HTTP/1.x response, from its status line.
pub fn parse_status(response: &str) -> Option<u16> {
    let line = response.lines().next()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
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
    fn parses_status_lines() {
        assert_eq!(parse_status("HTTP/1.1 200 OK\r\n\r\n"), Some(200));
        assert_eq!(
            parse_status("HTTP/1.0 404 NOT FOUND\r\nX: y\r\n"),
            Some(404)
        );
        assert_eq!(parse_status("SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(""), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(tail("a\nb", 30), ["a", "b"]);
        assert!(tail("", 30).is_empty());
    }

    #[test]
    fn http_request_talks_to_a_local_server() -> Result<()> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let server = thread::spawn(move || -> std::io::Result<String> {
            let (mut stream, _) = listener.accept()?;
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf)?;
            stream.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")?;
            Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
        });
        let (status, body) = http_request(port, "POST", "/x", Some("{}"))?;
        assert_eq!((status, body.as_str()), (201, "ok"));
        let request = server
            .join()
            .map_err(|_| anyhow::anyhow!("server thread panicked"))??;
        assert!(request.starts_with("POST /x HTTP/1.1\r\n"), "{request}");
        assert!(request.ends_with("\r\n\r\n{}"), "{request}");
        Ok(())
    }
}
