//! Connecting to a URL: TCP to its host, TLS on top for `wss://`, then the
//! client handshake. [`MaybeTlsStream`] is the stream this gives.

use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

#[cfg(feature = "tls")]
use super::tls::open_tls;
use super::{Transport, WebSocket};
use crate::handshake::{ClientRequest, Response};
use crate::tls::{stream_error, ClientTls};
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

/// Runs `$plain` on a `ws://` stream and `$tls` (or the same code) on a
/// `wss://` one: the one match that knows the `Tls` variant may not exist.
macro_rules! either {
    ($stream:expr, $s:ident => $body:expr) => {
        either!($stream, $s => $body, $s => $body)
    };
    ($stream:expr, $p:ident => $plain:expr, $t:ident => $tls:expr) => {
        match $stream {
            MaybeTlsStream::Plain($p) => $plain,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls($t) => $tls,
        }
    };
}

impl MaybeTlsStream {
    /// The TCP stream underneath, for addresses and socket options. Reading
    /// or writing it directly corrupts the connection.
    pub fn tcp(&self) -> &TcpStream {
        either!(self, tcp => tcp, tls => &tls.sock)
    }
}

/// Connects to the request's URL and runs the client handshake: what
/// `connect_with` and `connect_tls` share.
pub(crate) fn over_tcp(
    request: &ClientRequest,
    config: Config,
    tls: ClientTls,
) -> Result<(WebSocket<MaybeTlsStream>, Response), StreamError> {
    // TCP setup falls under the handshake's deadline too (the machine
    // starts its own just after, so the whole may take up to twice it).
    let deadline = config.handshake_deadline(Instant::now());
    let stream = if request.is_tls() {
        open_tls(request, tls, deadline)?
    } else {
        MaybeTlsStream::Plain(dial(request, deadline)?)
    };
    // A TLS stream reports its handshake's failures as I/O errors.
    super::client(stream, request, config).map_err(stream_error)
}

/// Without the feature `tls`, `wss://` fails before anything is connected.
#[cfg(not(feature = "tls"))]
fn open_tls(_: &ClientRequest, _: ClientTls, _: Instant) -> Result<MaybeTlsStream, StreamError> {
    Err(crate::TlsError::NotEnabled.into())
}

/// TCP to the request's host, trying each of its addresses until
/// `deadline` (a timeout is [`StreamError::HandshakeTimeout`]). Name
/// resolution itself cannot be bounded with std.
pub(super) fn dial(request: &ClientRequest, deadline: Instant) -> Result<TcpStream, StreamError> {
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
        either!(self, s => s.read(buf))
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        either!(self, s => s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        either!(self, s => s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        either!(self, s => s.flush())
    }
}

impl Transport for MaybeTlsStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        either!(self, s => Transport::set_read_timeout(s, timeout))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        either!(self, s => Transport::set_write_timeout(s, timeout))
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        either!(self, s => s.shutdown_write())
    }
}
