//! The tokio adapter (feature `tokio`): a WebSocket over any
//! `AsyncRead + AsyncWrite` stream.
//!
//! Like the blocking adapter it only moves bytes, wakers and timers; the
//! [`Connection`] makes every protocol decision.
//!
//! - **Cancel-safe**: all state lives in the stream, so `recv()` can sit in
//!   a `select!` loop and lose nothing when another branch wins.
//! - **Full duplex**: [`WebSocketStream::split`] gives a reader and a writer
//!   for different tasks.
//! - **Backpressure**: `feed` and `Sink::poll_ready` wait while more than
//!   [`Config::send_high_water`](crate::Config::send_high_water) bytes are
//!   queued; `send` waits until its message is written. An optional hard
//!   cap ([`Config::max_send_queue`](crate::Config::max_send_queue)) errors
//!   instead.
//! - **Keepalive and close timeout** from the core's `poll_timeout()`: the
//!   adapter only sleeps.
//!
//! ```no_run
//! use rfc6455::tokio::accept;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut ws = accept(tcp).await?;
//!         while let Some(message) = ws.recv_message().await? {
//!             ws.send(message).await?;
//!         }
//!         Ok::<_, rfc6455::StreamError>(())
//!     });
//! }
//! # }
//! ```
//!
//! `wss://` URLs connect over TLS with the feature `tls` (`connect_tls`
//! takes your own rustls config); servers use `accept_tls`.

mod inner;
mod maybe_tls;
pub mod reconnect;
mod split;
mod stream;
#[cfg(feature = "tls")]
mod tls;

use std::future::Future;
use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

pub use maybe_tls::MaybeTlsStream;
pub use split::{WebSocketReader, WebSocketWriter};
pub use stream::WebSocketStream;
#[cfg(feature = "tls")]
pub use tls::{accept_tls, accept_tls_with, connect_tls, TlsServerStream};

use crate::handshake::{self, AcceptOptions, ClientRequest, Parsed, Refusal, Request, Response};
use crate::{Config, Connection, Event, Extensions, Message, Role, StreamError};

/// Connects to a `ws://` or `wss://` URL over TCP with the default
/// [`Config`].
///
/// `wss://` needs the feature `tls` (else [`StreamError::Tls`] with
/// [`TlsError::NotEnabled`](crate::TlsError::NotEnabled), before any
/// connection) and verifies the server against the webpki roots.
pub async fn connect(
    url: &str,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), StreamError> {
    connect_with(ClientRequest::new(url)?, Config::default()).await
}

/// Connects with a prepared request (subprotocols, headers) and a config;
/// `wss://` as in [`connect`].
pub async fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), StreamError> {
    maybe_tls::connect(&request, config, crate::client_tls::ClientTls::Default).await
}

/// Runs the client handshake over a connected stream.
pub async fn client<S>(
    stream: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S>, Response), StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // On the heap while it runs, as for `accept_with`.
    Box::pin(client_handshake(stream, request, config)).await
}

async fn client_handshake<S>(
    mut stream: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S>, Response), StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::from_std(config.handshake_deadline(std::time::Instant::now()));
    let request = Extensions::offer(request.clone(), &config)?;
    within(deadline, async {
        stream.write_all(&request.encode()).await?;
        stream.flush().await
    })
    .await??;
    let mut buf = Vec::new();
    loop {
        match request.parse_response(&buf, &config.handshake_limits)? {
            Parsed::Complete(response, used) => {
                let extensions = Extensions::from_response(&response, &config)?;
                let mut conn = Connection::with_extensions(Role::Client, config, &extensions);
                conn.recv(&buf[used..]);
                return Ok((WebSocketStream::from_connection(stream, conn), response));
            }
            Parsed::Partial => within(deadline, read_more(&mut stream, &mut buf)).await??,
        }
    }
}

/// Runs the server handshake, accepting any valid request.
pub async fn accept<S>(stream: S) -> Result<WebSocketStream<S>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(stream, Config::default(), |_| Ok(AcceptOptions::default())).await
}

/// Runs the server handshake; `decide` sees the request before anything is
/// written and accepts it (subprotocol, extensions, headers) or refuses it.
pub async fn accept_with<S, F>(
    stream: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptOptions, Refusal>,
{
    // On the heap while it runs: a task that awaits the handshake inline
    // keeps room for its largest state (request, response, timers) for the
    // connection's whole life, about a kilobyte per idle connection.
    Box::pin(server_handshake(stream, config, decide)).await
}

async fn server_handshake<S, F>(
    mut stream: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptOptions, Refusal>,
{
    let deadline = Instant::from_std(config.handshake_deadline(std::time::Instant::now()));
    let mut buf = Vec::new();
    let (request, used) = loop {
        match handshake::parse_request(&buf, &config.handshake_limits) {
            Ok(Parsed::Complete(request, used)) => break (request, used),
            Ok(Parsed::Partial) => match within(deadline, read_more(&mut stream, &mut buf)).await {
                Ok(read) => read?,
                Err(timeout) => {
                    // A slow or silent client: say so, briefly, and go.
                    refuse(&mut stream, deadline, &handshake::reject(408, &[], b"")).await;
                    return Err(timeout);
                }
            },
            Err(e) => {
                refuse(&mut stream, deadline, &e.response()).await;
                return Err(e.into());
            }
        }
    };
    match decide(&request) {
        Ok(mut options) => {
            let extensions = Extensions::negotiate_server(&request, &mut options, &config);
            let response = match request.accept(&options) {
                Ok(response) => response,
                Err(e) => {
                    refuse(&mut stream, deadline, &handshake::reject(500, &[], b"")).await;
                    return Err(StreamError::Io(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        e,
                    )));
                }
            };
            within(deadline, async {
                stream.write_all(&response).await?;
                stream.flush().await
            })
            .await??;
            let mut conn = Connection::with_extensions(Role::Server, config, &extensions);
            conn.recv(&buf[used..]);
            Ok(WebSocketStream::from_connection(stream, conn))
        }
        Err(refusal) => {
            stream.write_all(&refusal.encode()).await?;
            let _ = stream.shutdown().await;
            Err(StreamError::Refused {
                status: refusal.status,
            })
        }
    }
}

/// After the handshake deadline, how long a server still tries to tell a
/// slow client why it is being dropped.
const GRACE: Duration = Duration::from_millis(500);

/// Best effort at telling a client why it is dropped: the answer and a
/// shutdown, bounded so that a client that does not read cannot hold us
/// more than [`GRACE`] past the handshake deadline.
async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, deadline: Instant, answer: &[u8]) {
    let _ = within(deadline + GRACE, async {
        stream.write_all(answer).await?;
        stream.shutdown().await
    })
    .await;
}

/// Runs `step` unless `deadline` passes first.
pub(crate) async fn within<T>(
    deadline: Instant,
    step: impl Future<Output = T>,
) -> Result<T, StreamError> {
    tokio::time::timeout_at(deadline, step)
        .await
        .map_err(|_| StreamError::HandshakeTimeout)
}

/// Reads handshake bytes; the parser bounds how many it will take.
///
/// It reads into `buf` itself rather than a stack array, which would make
/// every connection's task future (sized by its largest state) bigger for
/// the connection's whole life.
async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<(), StreamError> {
    buf.reserve(2048);
    if stream.read_buf(buf).await? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed during the handshake",
        )
        .into());
    }
    Ok(())
}

/// `Stream::poll_next` over events: data messages only, `None` at the end.
fn poll_next_message(
    cx: &mut Context<'_>,
    mut poll_recv: impl FnMut(&mut Context<'_>) -> Poll<Result<Event, StreamError>>,
) -> Poll<Option<Result<Message, StreamError>>> {
    loop {
        return match poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            // Pings and pongs are skipped; after a close the next poll
            // reports `Closed`, which ends the stream.
            Poll::Ready(Ok(event)) => match event.into_message() {
                Some(message) => Poll::Ready(Some(Ok(message))),
                None => continue,
            },
            Poll::Ready(Err(StreamError::Closed)) => Poll::Ready(None),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
        };
    }
}
