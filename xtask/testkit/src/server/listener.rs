//! A bound listener handed to a fake: std's or tokio's.

use std::io;
use std::net::SocketAddr;

/// A TCP listener bound by the test and handed to a fake, so no port number is ever picked,
/// released and reused (a race). `From` either kind: `std::net::TcpListener` or
/// `tokio::net::TcpListener`.
#[derive(Debug)]
pub enum Listener {
    /// A std listener.
    Std(std::net::TcpListener),
    /// A tokio listener (re-registered on the fake's own runtime).
    Tokio(tokio::net::TcpListener),
}

impl Listener {
    /// A fresh listener on `127.0.0.1:0` (the kernel picks a free port and keeps it bound).
    pub fn local() -> io::Result<Self> {
        Ok(Self::Std(std::net::TcpListener::bind("127.0.0.1:0")?))
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Std(l) => l.local_addr(),
            Self::Tokio(l) => l.local_addr(),
        }
    }

    /// The std listener, non-blocking, ready to move to another runtime.
    pub(crate) fn into_std(self) -> io::Result<std::net::TcpListener> {
        let listener = match self {
            Self::Std(l) => l,
            Self::Tokio(l) => l.into_std()?,
        };
        listener.set_nonblocking(true)?;
        Ok(listener)
    }
}

impl From<std::net::TcpListener> for Listener {
    fn from(listener: std::net::TcpListener) -> Self {
        Self::Std(listener)
    }
}

impl From<tokio::net::TcpListener> for Listener {
    fn from(listener: tokio::net::TcpListener) -> Self {
        Self::Tokio(listener)
    }
}
