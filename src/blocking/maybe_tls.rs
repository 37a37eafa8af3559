//! The stream [`connect`](super::connect) returns: TCP, with TLS on top for
//! `wss://`.

use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::{Transport, WebSocket};
use crate::client_tls::ClientTls;
use crate::handshake::{ClientRequest, Response};
use crate::{Config, StreamError};

/// A client's stream: plain TCP for `ws://`, TLS over TCP for `wss://`
/// (feature `tls`).
///
/// ```no_run
/// use rfc6455::blocking::{self, MaybeTlsStream};
///
/// let (ws, _response) = blocking::connect("wss://example.com/socket")?;
/// let encrypted = !matches!(ws.get_ref(), MaybeTlsStream::Plain(_));
/// println!("peer {}, encrypted: {encrypted}", ws.get_ref().tcp().peer_addr()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`: the bytes go over TCP as they are.
    Plain(TcpStream),
    /// `wss://`: a rustls client connection over TCP (boxed: it is large).
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath, for addresses and socket options. Reading
    /// or writing it directly corrupts the connection.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => &tls.sock,
        }
    }

    /// Opens TCP to the request's host, with TLS on top for `wss://`. The
    /// TLS handshake runs with the first write, inside the WebSocket
    /// handshake's time budget.
    fn open(
        request: &ClientRequest,
        tls: ClientTls,
        deadline: Instant,
    ) -> Result<MaybeTlsStream, StreamError> {
        if !request.is_tls() {
            return Ok(MaybeTlsStream::Plain(dial(request, deadline)?));
        }
        #[cfg(feature = "tls")]
        {
            let (config, name) = tls.resolve(request)?;
            let conn =
                rustls::ClientConnection::new(config, name).map_err(crate::TlsError::Rustls)?;
            let stream = rustls::StreamOwned::new(conn, dial(request, deadline)?);
            Ok(MaybeTlsStream::Tls(Box::new(stream)))
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = tls;
            Err(crate::TlsError::NotEnabled.into())
        }
    }
}

/// Connects to the request's URL and runs the client handshake: what
/// `connect_with` and `connect_tls` share.
pub(crate) fn connect(
    request: &ClientRequest,
    config: Config,
    tls: ClientTls,
) -> Result<(WebSocket<MaybeTlsStream>, Response), StreamError> {
    // TCP setup falls under the handshake's deadline too (the machine
    // starts its own just after, so the whole may take up to twice it).
    let deadline = config.handshake_deadline(Instant::now());
    let stream = MaybeTlsStream::open(request, tls, deadline)?;
    let result = super::client(stream, request, config);
    #[cfg(feature = "tls")]
    let result = result.map_err(crate::tls::stream_error);
    result
}

/// TCP to the request's host, trying each of its addresses until
/// `deadline` (a timeout is [`StreamError::HandshakeTimeout`]). Name
/// resolution itself cannot be bounded with std.
fn dial(request: &ClientRequest, deadline: Instant) -> Result<TcpStream, StreamError> {
    let mut last = None;
    for addr in (request.host(), request.port()).to_socket_addrs()? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StreamError::HandshakeTimeout);
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == io::ErrorKind::TimedOut => StreamError::HandshakeTimeout,
        Some(e) => e.into(),
        None => io::Error::new(io::ErrorKind::NotFound, "the host has no address").into(),
    })
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.write(buf),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.write_vectored(bufs),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.flush(),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.flush(),
        }
    }
}

impl Transport for MaybeTlsStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(tcp) => Transport::set_read_timeout(tcp, timeout),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.set_read_timeout(timeout),
        }
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(tcp) => Transport::set_write_timeout(tcp, timeout),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.set_write_timeout(timeout),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.shutdown_write(),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.shutdown_write(),
        }
    }
}
