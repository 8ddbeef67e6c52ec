//! An address where connections are refused, held so nobody else can take it.

use std::io;
use std::net::SocketAddr;

/// A loopback port that refuses connections: a socket bound to `127.0.0.1:0` that never
/// listens. While it is alive the port stays reserved (no other socket can bind it), so
/// "connection refused" is certain; binding a listener and dropping it would leave a port
/// anyone could take.
#[derive(Debug)]
pub struct RefusedPort {
    _socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl RefusedPort {
    /// Reserves a port.
    pub fn new() -> io::Result<Self> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = socket.local_addr()?;
        Ok(Self {
            _socket: socket,
            addr,
        })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
