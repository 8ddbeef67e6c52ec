//! The process harness: a child started from a [`Command`], its output captured, killed and
//! reaped when dropped, every wait bounded.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::listening::listening_addrs;
use crate::lock::lock;
use crate::wait::{Timeout, wait_until};

/// What a child wrote, by stream.
#[derive(Debug, Default)]
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// A running child process.
///
/// Its stdin is null; stdout and stderr are captured (read [`Process::stdout`],
/// [`Process::stderr`]) and echoed with `eprint!`, so the test harness shows them when the
/// test fails. Dropping it kills the child (if still running) and reaps it.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    output: Arc<Mutex<Output>>,
    readers: Vec<JoinHandle<()>>,
    started: Instant,
}

fn capture(
    name: String,
    mut pipe: impl Read + Send + 'static,
    output: Arc<Mutex<Output>>,
    pick: fn(&mut Output) -> &mut Vec<u8>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("{name} output"))
        .spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buffer) {
                let Some(chunk) = buffer.get(..n).filter(|c| !c.is_empty()) else {
                    break;
                };
                eprint!("{}", String::from_utf8_lossy(chunk));
                pick(&mut lock(&output)).extend_from_slice(chunk);
            }
        })
}

/// A [`Timeout`] as an [`io::Error`] of kind [`io::ErrorKind::TimedOut`], its message kept.
fn timed_out(timeout: Timeout) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, timeout.to_string())
}

impl Process {
    /// Starts `command` (its stdio is replaced as described above), named after its program.
    pub fn spawn(command: Command) -> io::Result<Self> {
        let name = std::path::Path::new(command.get_program())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::spawn_named(&name, command)
    }

    /// Starts `command`, naming it `name` in messages.
    pub fn spawn_named(name: &str, mut command: Command) -> io::Result<Self> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn()?;
        let output = Arc::new(Mutex::new(Output::default()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(capture(name.to_owned(), stdout, output.clone(), |o| {
                &mut o.stdout
            })?);
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(capture(name.to_owned(), stderr, output.clone(), |o| {
                &mut o.stderr
            })?);
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            output,
            readers,
            started,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When it was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Everything it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&lock(&self.output).stdout).into_owned()
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&lock(&self.output).stderr).into_owned()
    }

    /// Waits (at most `bound`) for a complete stdout line that satisfies `pred`; returns it.
    pub fn wait_for_stdout_line(
        &self,
        bound: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, Timeout> {
        wait_until(&format!("a stdout line of {}", self.name), bound, || {
            let stdout = self.stdout();
            let complete = stdout.rsplit_once('\n').map(|(lines, _)| lines)?;
            complete.lines().find(|line| pred(line)).map(str::to_owned)
        })
        .map_err(|t| self.explain(t))
    }

    /// The exit status, if it has exited.
    pub fn try_exit(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits (at most `bound`) for it to exit. Once it has, all of its output is captured.
    pub fn wait_exit(&mut self, bound: Duration) -> Result<ExitStatus, Timeout> {
        let name = self.name.clone();
        let child = &mut self.child;
        let status = wait_until(&format!("{name} to exit"), bound, || {
            child.try_wait().ok().flatten()
        })
        .map_err(|t| self.explain(t))?;
        self.join_readers();
        Ok(status)
    }

    /// [`Process::wait_exit`] for async tests: the test's runtime keeps running meanwhile.
    #[cfg(feature = "server")]
    pub async fn wait_exit_async(&mut self, bound: Duration) -> Result<ExitStatus, Timeout> {
        let name = self.name.clone();
        let child = &mut self.child;
        let status = crate::wait::wait_until_async(&format!("{name} to exit"), bound, || {
            child.try_wait().ok().flatten()
        })
        .await
        .map_err(|t| self.explain(t))?;
        self.join_readers();
        Ok(status)
    }

    /// Sends it SIGTERM (with the system's `kill`, as this crate has no unsafe code).
    pub fn terminate(&self) -> io::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .stdin(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "kill -TERM {} failed: {status}",
                self.pid()
            )))
        }
    }

    /// Sends it SIGTERM, as a platform stops a function, and waits (at most `bound`) for it
    /// to exit; a wait that runs out is an error of kind [`io::ErrorKind::TimedOut`].
    pub fn terminate_and_wait(&mut self, bound: Duration) -> io::Result<ExitStatus> {
        self.terminate()?;
        self.wait_exit(bound).map_err(timed_out)
    }

    /// [`Process::terminate_and_wait`] for async tests: the test's runtime keeps running
    /// meanwhile.
    #[cfg(feature = "server")]
    pub async fn terminate_and_wait_async(&mut self, bound: Duration) -> io::Result<ExitStatus> {
        self.terminate()?;
        self.wait_exit_async(bound).await.map_err(timed_out)
    }

    /// Kills it (SIGKILL) and reaps it; nothing happens if it already exited.
    pub fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        self.join_readers();
    }

    /// The address it listens on, once it listens on exactly one TCP port (Linux `/proc`),
    /// waiting at most `bound`. For a child told to bind port 0: no port is chosen in advance,
    /// so none can be taken by another process in between.
    pub fn wait_listening(&mut self, bound: Duration) -> Result<SocketAddr, Timeout> {
        let pid = self.pid();
        let child = &mut self.child;
        let mut exited = None;
        let found = wait_until(&format!("{} to listen", self.name), bound, || {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some(status);
                return Some(None);
            }
            match listening_addrs(pid).ok()?.as_slice() {
                [one] => Some(Some(*one)),
                _ => None,
            }
        });
        match found {
            Ok(Some(addr)) => Ok(addr),
            Ok(None) => Err(self.explain(Timeout {
                what: format!("{} to listen (it exited first: {exited:?})", self.name),
                after: self.started.elapsed(),
            })),
            Err(timeout) => Err(self.explain(timeout)),
        }
    }

    /// A field of `/proc/<pid>/status` given in kB (e.g. `VmHWM`, `VmRSS`), in KiB.
    pub fn status_kb(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time used so far, user + system, in clock ticks (`/proc/<pid>/stat`).
    pub fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        let after = stat.get(stat.rfind(')')? + 1..)?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // After the name: state (index 0), ..., utime (11), stime (12).
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some(utime + stime)
    }

    fn explain(&self, mut timeout: Timeout) -> Timeout {
        timeout.what = format!(
            "{}\n--- {} stderr ---\n{}",
            timeout.what,
            self.name,
            self.stderr()
        );
        timeout
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn captures_output_and_waits_for_the_exit() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo ready 7; echo oops >&2; exit 3"]);
        let mut process = Process::spawn(command).unwrap();
        let line = process
            .wait_for_stdout_line(Duration::from_secs(10), |l| l.starts_with("ready"))
            .unwrap();
        assert_eq!(line, "ready 7");
        let status = process.wait_exit(Duration::from_secs(10)).unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(process.stderr(), "oops\n");
    }

    #[test]
    fn a_bounded_wait_times_out_and_drop_kills() {
        let mut command = Command::new("sleep");
        command.arg("30");
        let mut process = Process::spawn(command).unwrap();
        let pid = process.pid();
        assert!(process.wait_exit(Duration::from_millis(50)).is_err());
        assert!(process.status_kb("VmRSS").is_some());
        assert!(process.cpu_ticks().is_some());
        process.terminate().unwrap();
        let status = process.wait_exit(Duration::from_secs(10)).unwrap();
        assert!(!status.success());
        drop(process);
        assert!(!std::path::Path::new(&format!("/proc/{pid}/stat")).exists());
    }

    #[test]
    fn terminate_and_wait_returns_how_it_exited_or_times_out() {
        let ready = |script: &str| {
            let mut command = Command::new("sh");
            command.args(["-c", script]);
            let process = Process::spawn(command).unwrap();
            process
                .wait_for_stdout_line(Duration::from_secs(10), |l| l == "ready")
                .unwrap();
            process
        };
        let mut draining = ready("trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done");
        let status = draining
            .terminate_and_wait(Duration::from_secs(10))
            .unwrap();
        assert!(status.success(), "{status:?}");
        let mut deaf = ready("trap '' TERM; echo ready; exec sleep 30");
        let error = deaf
            .terminate_and_wait(Duration::from_millis(50))
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        assert!(error.to_string().contains("sh to exit"), "{error}");
    }

    #[test]
    fn learns_the_port_a_child_bound() {
        // A child binding port 0 on its own, as the apps under test do with PORT=0.
        let mut command = Command::new("python3");
        command.args([
            "-c",
            "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)",
        ]);
        let Ok(mut process) = Process::spawn(command) else {
            return; // no python3 here: nothing to check
        };
        let addr = process.wait_listening(Duration::from_secs(10)).unwrap();
        let printed = process
            .wait_for_stdout_line(Duration::from_secs(10), |_| true)
            .unwrap();
        assert_eq!(addr.port().to_string(), printed);
    }
}
