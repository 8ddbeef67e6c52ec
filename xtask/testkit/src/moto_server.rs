//! A std-only moto launcher (usable from xtask, which starts moto once for the whole test
//! run, and from a test that wants its own).

use std::io;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Process;
use crate::probe::http_request;

/// A running `moto_server`; dropping it kills and reaps it.
#[derive(Debug)]
pub struct MotoServer {
    process: Process,
    addr: SocketAddr,
}

impl MotoServer {
    /// Starts `command` (the `moto_server` program, directly or through a launcher that
    /// `exec`s it) with `-H 127.0.0.1 -p 0` appended: moto binds a port the kernel picks, and
    /// the port is read back from `/proc` (none is chosen in advance, so none can be taken in
    /// between). Then waits (at most `bound`) until `GET /moto-api/` answers and switches
    /// Lambda to its Docker-free mode (`lambda.use_docker=false`).
    pub fn start(mut command: Command, bound: Duration) -> io::Result<Self> {
        command.args(["-H", "127.0.0.1", "-p", "0"]);
        command.env("PYTHONUNBUFFERED", "1");
        let mut process = Process::spawn_named("moto_server", command)?;
        let started = Instant::now();
        let addr = process
            .wait_listening(bound)
            .map_err(|t| io::Error::new(io::ErrorKind::TimedOut, t.to_string()))?;
        let probe = Duration::from_secs(2);
        while http_request(addr, "GET", "/moto-api/", None, probe).is_err() {
            if started.elapsed() > bound {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("moto_server on {addr} did not answer within {bound:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let (status, body) = http_request(
            addr,
            "POST",
            "/moto-api/config",
            Some(r#"{"lambda":{"use_docker":false}}"#),
            probe,
        )?;
        if !(200..300).contains(&status) {
            return Err(io::Error::other(format!(
                "POST /moto-api/config answered {status}: {body}"
            )));
        }
        Ok(Self { process, addr })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the value of [`crate::MOTO_ENDPOINT_VAR`].
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process (its output, pid).
    pub fn process(&self) -> &Process {
        &self.process
    }
}
