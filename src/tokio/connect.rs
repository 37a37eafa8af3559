//! Connecting to a URL: TCP to its host, TLS on top for `wss://`, then the
//! client handshake. [`MaybeTlsStream`] is the stream this gives.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

#[cfg(feature = "tls")]
use super::tls::open_tls;
use super::{client, within, WebSocketStream};
use crate::handshake::{ClientRequest, Response};
use crate::tls::{stream_error, ClientTls};
use crate::{Config, StreamError};

/// A client's stream: plain TCP for `ws://`, TLS over TCP for `wss://`
/// (feature `tls`).
///
/// ```no_run
/// use rfc6455::tokio::{connect, MaybeTlsStream};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let (ws, _response) = connect("wss://example.com/socket").await?;
/// let encrypted = !matches!(ws.get_ref(), MaybeTlsStream::Plain(_));
/// println!("peer {}, encrypted: {encrypted}", ws.get_ref().tcp().peer_addr()?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`: the bytes go over TCP as they are.
    Plain(TcpStream),
    /// `wss://`: a rustls client connection over TCP (boxed: it is large).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
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
        either!(self, tcp => tcp, tls => tls.get_ref().0)
    }
}

/// Connects to the request's URL and runs the client handshake: what
/// `connect_with`, `connect_tls` and the reconnecting client share.
pub(crate) async fn over_tcp(
    request: &ClientRequest,
    config: Config,
    tls: ClientTls,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), StreamError> {
    // TCP and TLS setup get the handshake timeout too: a server that
    // accepts and then stalls must not hold a connect forever.
    let deadline = config.handshake_deadline(std::time::Instant::now());
    let open = async {
        if request.is_tls() {
            open_tls(request, tls).await
        } else {
            Ok(MaybeTlsStream::Plain(dial(request).await?))
        }
    };
    let stream = within(deadline.into(), open).await??;
    // Rustls failures after its handshake come out as I/O errors.
    client(stream, request, config).await.map_err(stream_error)
}

/// Without the feature `tls`, `wss://` fails before anything is connected.
#[cfg(not(feature = "tls"))]
async fn open_tls(_: &ClientRequest, _: ClientTls) -> Result<MaybeTlsStream, StreamError> {
    Err(crate::TlsError::NotEnabled.into())
}

/// TCP to the request's host, without Nagle's delay.
pub(super) async fn dial(request: &ClientRequest) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect((request.host(), request.port())).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        either!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        either!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        either!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        either!(self, s => s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}
