//! The stream [`connect`](super::connect) returns: TCP, with TLS on top for
//! `wss://`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{client, within, WebSocketStream};
use crate::client_tls::ClientTls;
use crate::handshake::{ClientRequest, Response};
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

impl MaybeTlsStream {
    /// The TCP stream underneath, for addresses and socket options. Reading
    /// or writing it directly corrupts the connection.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Opens TCP to the request's host, and for `wss://` runs the TLS
    /// handshake on it.
    async fn open(request: &ClientRequest, tls: ClientTls) -> Result<MaybeTlsStream, StreamError> {
        if !request.is_tls() {
            return Ok(MaybeTlsStream::Plain(dial(request).await?));
        }
        #[cfg(feature = "tls")]
        {
            let (config, name) = tls.resolve(request)?;
            let tcp = dial(request).await?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(crate::tls::io_error)?;
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
pub(crate) async fn connect(
    request: &ClientRequest,
    config: Config,
    tls: ClientTls,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), StreamError> {
    // TCP and TLS setup get the handshake timeout too: a server that
    // accepts and then stalls must not hold a connect forever.
    let deadline = config.handshake_deadline(std::time::Instant::now());
    let stream = within(deadline.into(), MaybeTlsStream::open(request, tls)).await??;
    let result = client(stream, request, config).await;
    #[cfg(feature = "tls")]
    let result = result.map_err(crate::tls::stream_error);
    result
}

async fn dial(request: &ClientRequest) -> io::Result<TcpStream> {
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
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => Pin::new(&mut **tls).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => Pin::new(&mut **tls).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => Pin::new(&mut **tls).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.is_write_vectored(),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => Pin::new(&mut **tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(tls) => Pin::new(&mut **tls).poll_shutdown(cx),
        }
    }
}
