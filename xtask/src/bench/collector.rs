//! Local stand-ins for an OTLP/HTTP collector, one per fault the benchmark injects: healthy
//! (answers `200` to `/v1/traces` and `/v1/metrics`, counts requests and bytes), answering `500`,
//! stalling (accepts and reads, never answers), and refusing (a port nobody listens on).

use std::io::{BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::emulator::http;

/// How the collector behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// `200` to every export.
    Healthy,
    /// `500` to every export.
    Failing,
    /// Accepts the connection, reads the request, never answers.
    Stalling,
    /// Nothing listens on the port: connections are refused.
    Refusing,
}

impl Behaviour {
    /// The name the report uses.
    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy (200)",
            Self::Failing => "answers 500",
            Self::Stalling => "stalls (accepts, never answers)",
            Self::Refusing => "refuses (closed port)",
        }
    }
}

/// A running stand-in; dropping it stops it (stalled connections are closed).
#[derive(Debug)]
pub struct Collector {
    port: u16,
    requests: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Collector {
    /// Starts a collector with `behaviour` on `127.0.0.1` and a free port.
    pub fn start(behaviour: Behaviour) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let requests = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        if behaviour == Behaviour::Refusing {
            // Closing the listener leaves a port that refuses connections.
            drop(listener);
        } else {
            let (requests, bytes, stop, held) =
                (requests.clone(), bytes.clone(), stop.clone(), held.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (requests, bytes, held) = (requests.clone(), bytes.clone(), held.clone());
                    std::thread::spawn(move || serve(stream, behaviour, &requests, &bytes, &held));
                }
            });
        }
        Ok(Self {
            port,
            requests,
            bytes,
            stop,
            held,
        })
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Export requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Request body bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.port).into(),
            Duration::from_millis(100),
        );
        for stream in self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn serve(
    stream: TcpStream,
    behaviour: Behaviour,
    requests: &AtomicU64,
    bytes: &AtomicU64,
    held: &Mutex<Vec<TcpStream>>,
) {
    let _ = stream.set_nodelay(true);
    if behaviour == Behaviour::Stalling {
        // Keep the connection open (until the collector is dropped) and drain what arrives.
        if let Ok(clone) = stream.try_clone() {
            held.lock().unwrap_or_else(|p| p.into_inner()).push(clone);
        }
        let mut sink = [0u8; 16 * 1024];
        let mut stream = stream;
        while let Ok(n) = stream.read(&mut sink) {
            if n == 0 {
                return;
            }
            bytes.fetch_add(n as u64, Ordering::SeqCst);
        }
        return;
    }
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut stream = stream;
    let mut reader = BufReader::new(read_half);
    while let Ok(Some(request)) = http::read_request(&mut reader, &mut stream) {
        requests.fetch_add(1, Ordering::SeqCst);
        bytes.fetch_add(request.body.len() as u64, Ordering::SeqCst);
        let status = if behaviour == Behaviour::Failing {
            500
        } else {
            200
        };
        let headers = [("Content-Type", "application/x-protobuf")];
        if http::write_response(&mut stream, status, &headers, b"").is_err()
            || request.wants_close()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_behaviour_answers_as_promised() {
        let healthy = Collector::start(Behaviour::Healthy).unwrap();
        let addr = healthy.endpoint().trim_start_matches("http://").to_string();
        let r = http::send(
            &addr,
            "POST",
            "/v1/traces",
            &[],
            b"abc",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!((healthy.requests(), healthy.bytes()), (1, 3));

        let failing = Collector::start(Behaviour::Failing).unwrap();
        let addr = failing.endpoint().trim_start_matches("http://").to_string();
        let r = http::send(
            &addr,
            "POST",
            "/v1/traces",
            &[],
            b"x",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(r.status, 500);

        let stalling = Collector::start(Behaviour::Stalling).unwrap();
        let addr = stalling
            .endpoint()
            .trim_start_matches("http://")
            .to_string();
        assert!(
            http::send(
                &addr,
                "POST",
                "/v1/traces",
                &[],
                b"x",
                Duration::from_millis(200)
            )
            .is_err()
        );

        let refusing = Collector::start(Behaviour::Refusing).unwrap();
        let addr = refusing
            .endpoint()
            .trim_start_matches("http://")
            .to_string();
        let err = http::send(
            &addr,
            "POST",
            "/v1/traces",
            &[],
            b"x",
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("connecting"), "{err:#}");
    }
}
