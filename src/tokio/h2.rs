//! A WebSocket client over HTTP/2 (feature `h2`): RFC 8441 extended
//! CONNECT on one stream of an HTTP/2 connection, with the `h2` crate.
//!
//! [`connect`] opens its own connection (`ws://` with HTTP/2 prior
//! knowledge, so the server must take HTTP/2 without TLS, "h2c";
//! `wss://` with ALPN `h2` when the feature `tls` is on);
//! [`connect_on`] opens a WebSocket on a connection you already have, so
//! many WebSockets and ordinary requests can share it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rfc6455::StreamError> {
//! let (mut ws, response) = rfc6455::tokio::h2::connect("ws://127.0.0.1:8080/ws").await?;
//! assert_eq!(response.status(), 200);
//! ws.send("hello over HTTP/2").await?;
//! # Ok(()) }
//! ```
//!
//! The adapter only moves bytes between the h2 stream and the
//! [`Connection`]: the request, the checks on the answer
//! and the extensions agreed are the core's ([`ClientRequest::to_http2`],
//! [`ClientRequest::check_http_response`]).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{bounded, WebSocketStream};
use crate::handshake::{self, ClientRequest, Response};
use crate::{Config, Connection, Role, StreamError};

/// One HTTP/2 stream as a byte stream: DATA frames in and out, with h2's
/// flow control. End of stream is end of input; shutting down sends
/// END_STREAM.
#[derive(Debug)]
pub struct H2Stream {
    send: h2::SendStream<Bytes>,
    recv: h2::RecvStream,
    /// The unread rest of the last DATA frame.
    pending: Bytes,
}

impl H2Stream {
    /// A byte stream over an HTTP/2 stream's two halves.
    pub fn new(send: h2::SendStream<Bytes>, recv: h2::RecvStream) -> H2Stream {
        H2Stream {
            send,
            recv,
            pending: Bytes::new(),
        }
    }
}

fn h2_io(e: h2::Error) -> io::Error {
    if e.is_io() {
        e.into_io().unwrap_or_else(|| io::ErrorKind::Other.into())
    } else {
        io::Error::other(e)
    }
}

impl AsyncRead for H2Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.pending.is_empty() {
            match ready!(self.recv.poll_data(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(data)) => {
                    // Taken in: let the peer send that much more (at most
                    // this one frame is held here).
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.pending = data;
                }
                Some(Err(e)) => return Poll::Ready(Err(h2_io(e))),
            }
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.send.reserve_capacity(data.len());
        loop {
            match ready!(self.send.poll_capacity(cx)) {
                None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                Some(Err(e)) => return Poll::Ready(Err(h2_io(e))),
                Some(Ok(0)) => continue,
                Some(Ok(room)) => {
                    let n = room.min(data.len());
                    self.send
                        .send_data(Bytes::copy_from_slice(&data[..n]), false)
                        .map_err(h2_io)?;
                    return Poll::Ready(Ok(n));
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // h2's connection task writes the frames out.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.send.reserve_capacity(0);
        Poll::Ready(self.send.send_data(Bytes::new(), true).map_err(h2_io))
    }
}

/// Opens a WebSocket to `url` over a new HTTP/2 connection, with the
/// default [`Config`]. `ws://` speaks HTTP/2 with prior knowledge (h2c);
/// `wss://` needs the feature `tls` and negotiates `h2` by ALPN.
pub async fn connect(url: &str) -> Result<(WebSocketStream<H2Stream>, Response), StreamError> {
    connect_with(ClientRequest::new(url)?, Config::default()).await
}

/// As [`connect`], with a prepared request and a config. The connection's
/// driver runs in a task of its own and ends with the last stream on it.
///
/// # Errors
///
/// [`handshake::ResponseError::ExtendedConnectDisabled`] when the server does not
/// offer extended CONNECT; otherwise those of [`connect_on`], of TCP and
/// of TLS, and [`StreamError::HandshakeTimeout`] past
/// [`Config::handshake_timeout`].
pub async fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<H2Stream>, Response), StreamError> {
    // An offer the config cannot run fails before any connection is made.
    let request = handshake::prepare_client_request(request, &config)?;
    let deadline = Some(config.handshake_deadline(std::time::Instant::now()));
    let send_request = bounded(deadline, open(&request))
        .await?
        .ok_or(StreamError::HandshakeTimeout)?;
    // One budget for the connection and the CONNECT together.
    extended_connect(send_request, request, config, deadline).await
}

/// TCP (and TLS), the HTTP/2 preface, and one PING round trip, after which
/// the server's SETTINGS have been read.
async fn open(request: &ClientRequest) -> io::Result<h2::client::SendRequest<Bytes>> {
    let tcp = tokio::net::TcpStream::connect((request.host(), request.port())).await?;
    tcp.set_nodelay(true)?;
    if request.is_tls() {
        #[cfg(feature = "tls")]
        {
            let tls = super::tls::connect_h2(request, tcp).await?;
            return handshake_h2(tls).await;
        }
        #[cfg(not(feature = "tls"))]
        return Err(io::Error::other(crate::TlsError::NotEnabled));
    }
    handshake_h2(tcp).await
}

async fn handshake_h2<T>(io: T) -> io::Result<h2::client::SendRequest<Bytes>>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A server that does not speak HTTP/2 here just hangs up.
    let no_h2 = |e: h2::Error| {
        io::Error::other(format!(
            "the server did not answer HTTP/2 ({e}); over ws:// it must accept HTTP/2 without \
             TLS by prior knowledge (h2c)"
        ))
    };
    let (send_request, mut connection) = h2::client::handshake(io).await.map_err(no_h2)?;
    let mut ping_pong = connection.ping_pong();
    tokio::spawn(async move {
        // Ends with the connection; its errors reach the streams.
        let _ = connection.await;
    });
    // SETTINGS come first, so once the PONG is back they have been applied.
    if let Some(ping_pong) = ping_pong.as_mut() {
        ping_pong.ping(h2::Ping::opaque()).await.map_err(no_h2)?;
    }
    Ok(send_request)
}

/// Opens a WebSocket on an HTTP/2 connection you already have. The
/// server's SETTINGS must have arrived (any completed request or a PING
/// round trip ensures it), since they say whether extended CONNECT is
/// allowed.
///
/// The request carries the extension offer `config` enables (or the
/// caller's, which may only name extensions `config` enables), and the
/// answer is checked against exactly that offer.
pub async fn connect_on(
    send_request: h2::client::SendRequest<Bytes>,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<H2Stream>, Response), StreamError> {
    let deadline = Some(config.handshake_deadline(std::time::Instant::now()));
    let request = handshake::prepare_client_request(request, &config)?;
    extended_connect(send_request, request, config, deadline).await
}

/// The extended CONNECT of a prepared `request`, bounded by `deadline`.
async fn extended_connect(
    mut send_request: h2::client::SendRequest<Bytes>,
    request: ClientRequest,
    config: Config,
    deadline: Option<std::time::Instant>,
) -> Result<(WebSocketStream<H2Stream>, Response), StreamError> {
    let ready = bounded(deadline, async {
        send_request.clone().ready().await.map_err(h2_io)
    })
    .await?
    .ok_or(StreamError::HandshakeTimeout)?;
    send_request = ready;
    if !send_request.is_extended_connect_protocol_enabled() {
        return Err(
            handshake::Error::Response(handshake::ResponseError::ExtendedConnectDisabled).into(),
        );
    }
    let (response, send) = send_request
        .send_request(request.to_http2(), false)
        .map_err(h2_io)?;
    let response = bounded(deadline, async { response.await.map_err(h2_io) })
        .await?
        .ok_or(StreamError::HandshakeTimeout)?;
    let (parts, mut recv) = response.into_parts();
    let checked = match request.check_http_response(&parts) {
        Ok(checked) => checked,
        Err(mut e) => {
            if let handshake::Error::Rejected(rejection) = &mut e {
                // The rejection's body says why; read what the limits allow.
                let limit = config.handshake_limits.max_size;
                let _ = bounded(deadline, async {
                    while let Some(chunk) = recv.data().await {
                        let chunk = chunk.map_err(h2_io)?;
                        let _ = recv.flow_control().release_capacity(chunk.len());
                        let room = limit.saturating_sub(rejection.body.len());
                        rejection
                            .body
                            .extend_from_slice(&chunk[..chunk.len().min(room)]);
                        if rejection.body.len() >= limit {
                            break;
                        }
                    }
                    Ok::<_, io::Error>(())
                })
                .await;
            }
            crate::trace::client_handshake_failed(&e, None);
            let mut send = send;
            send.send_reset(h2::Reason::CANCEL);
            return Err(e.into());
        }
    };
    let conn = Connection::with_extensions(Role::Client, config, checked.agreed_extensions());
    Ok((
        WebSocketStream::from_connection(H2Stream::new(send, recv), conn),
        checked,
    ))
}
