//! The tokio adapter (feature `tokio`): a WebSocket over any
//! `AsyncRead + AsyncWrite` stream.
//!
//! Like the blocking adapter it only moves bytes, wakers and timers; the
//! [`Connection`](crate::Connection) and the handshake machines make every
//! protocol decision.
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
//! ## Reading: three ways, one end
//!
//! - [`recv`](WebSocketStream::recv) returns every [`Event`]: data, pings
//!   and pongs (already answered), and the peer's [`Event::Close`] with its
//!   code and reason, last. A call after that returns
//!   [`StreamError::Closed`].
//! - [`recv_message`](WebSocketStream::recv_message) returns data messages
//!   only, then `Ok(None)` at the close; the code and reason are then in
//!   [`state`](WebSocketStream::state).
//! - The [`Stream`](futures_core::Stream) impl (`StreamExt::next`) yields
//!   what `recv` returns, the Close included, and ends with `None` where
//!   `recv` would return `Closed`. So a `while let Some(event) =
//!   ws.next().await` loop sees the close code and has one error path.
//!
//! The `Stream` yields [`Event`]s, not [`Message`]s, because a `Message` is
//! what you can send (text or binary) and has no room for a close: a
//! stream of messages would have to drop the close code (as it did) or
//! report it as an error. [`Event::into_message`] keeps the data:
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use rfc6455::Event;
//!
//! # async fn demo(mut ws: rfc6455::tokio::WebSocketStream<tokio::net::TcpStream>) -> Result<(), rfc6455::StreamError> {
//! while let Some(event) = ws.next().await {
//!     match event? {
//!         Event::Close(frame) => println!("peer closed: {frame:?}"),
//!         event => {
//!             if let Some(message) = event.into_message() {
//!                 ws.send(message).await?;
//!             }
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! `wss://` URLs connect over TLS with the feature `tls` (`connect_tls`
//! takes your own rustls config); servers use `accept_tls`.

mod connect;
#[cfg(feature = "h2")]
pub mod h2;
mod inner;
mod read_buffers;
pub mod reconnect;
mod split;
mod stream;
#[cfg(feature = "tls")]
mod tls;

use std::future::Future;
use std::io;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

pub use connect::MaybeTlsStream;
pub use split::{WebSocketReader, WebSocketWriter};
pub use stream::WebSocketStream;
#[cfg(feature = "tls")]
pub use tls::{accept_tls, accept_tls_with, connect_tls, TlsServerStream};

use crate::handshake::{
    self, AcceptOptions, ClientAction, ClientHandshake, ClientRequest, Refusal, Request, Response,
    ServerAction, ServerHandshake, Transfer,
};
use crate::{Config, Event, Message, StreamError};

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
/// `wss://` as in [`connect`]. The request carries the extension offer the
/// config enables (permessage-deflate with `Config::deflate`), and the
/// answer is checked against it: see `Response::protocol` and
/// `Response::agreed_extensions` for what was agreed.
///
/// ```no_run
/// # #[cfg(feature = "deflate")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use rfc6455::deflate::DeflateConfig;
/// use rfc6455::handshake::ClientRequest;
/// use rfc6455::{CloseCode, Config, Event};
///
/// let request = ClientRequest::new("ws://127.0.0.1:8080/chat")?.protocols(["chat.v2", "chat.v1"])?;
/// let config = Config::default().deflate(DeflateConfig::default());
/// let (mut ws, response) = rfc6455::tokio::connect_with(request, config).await?;
/// println!("subprotocol {:?}, compressed: {}", response.protocol(),
///     response.agreed_extensions().deflate().is_some());
/// ws.send("hello").await?;
/// ws.close(CloseCode::NORMAL, "done").await?;
/// // The closing handshake ends with the server's Close.
/// while !matches!(ws.recv().await, Ok(Event::Close(_)) | Err(_)) {}
/// # Ok(()) }
/// ```
pub async fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), StreamError> {
    connect::over_tcp(&request, config, crate::tls::ClientTls::Default).await
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
    let mut hs = ClientHandshake::new(request.clone(), config, std::time::Instant::now())?;
    let mut buf = Vec::new();
    loop {
        match hs.poll_action() {
            ClientAction::Done => break,
            ClientAction::Read => handshake_step(&mut hs, &mut stream, true, &mut buf).await?,
            ClientAction::Write => handshake_step(&mut hs, &mut stream, false, &mut buf).await?,
        }
    }
    let (conn, response) = hs
        .finish()
        .inspect_err(|e| crate::trace::client_handshake_failed(e, None))?;
    Ok((WebSocketStream::from_connection(stream, conn), response))
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
    let mut hs = ServerHandshake::new(config, std::time::Instant::now());
    let mut decide = Some(decide);
    let mut buf = Vec::new();
    loop {
        match hs.poll_action() {
            ServerAction::Done => break,
            ServerAction::Decide => {
                if let Some(decide) = decide.take() {
                    hs.decide(decide);
                }
            }
            ServerAction::Read => handshake_step(&mut hs, &mut stream, true, &mut buf).await?,
            ServerAction::Write => handshake_step(&mut hs, &mut stream, false, &mut buf).await?,
        }
    }
    match hs.finish() {
        Ok(conn) => Ok(WebSocketStream::from_connection(stream, conn)),
        Err(e) => {
            crate::trace::server_handshake_failed(&e, None);
            // The refusal, if any, is written; the shutdown is bounded too.
            let _ = tokio::time::timeout(handshake::REFUSAL_GRACE, stream.shutdown()).await;
            Err(e.into())
        }
    }
}

/// What one bounded handshake read or write did.
enum Step {
    /// Bytes read into the buffer (0: end of input).
    Read(usize),
    /// Bytes written.
    Wrote(usize),
    /// The handshake's deadline passed first.
    TimedOut,
}

/// Runs `io` until `deadline` (the core's `std` instant), if any.
pub(crate) async fn bounded<T>(
    deadline: Option<std::time::Instant>,
    io: impl Future<Output = io::Result<T>>,
) -> io::Result<Option<T>> {
    match deadline {
        None => io.await.map(Some),
        Some(d) => match tokio::time::timeout_at(Instant::from_std(d), io).await {
            Ok(result) => result.map(Some),
            Err(_) => Ok(None),
        },
    }
}

/// One read (`reading`, into `buf`) or write for a handshake machine,
/// bounded by its deadline, with the outcome handed back to it.
async fn handshake_step<H: Transfer, S: AsyncRead + AsyncWrite + Unpin>(
    hs: &mut H,
    stream: &mut S,
    reading: bool,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let deadline = hs.poll_timeout();
    let step = if reading {
        read_step(stream, deadline, buf).await?
    } else {
        write_step(stream, deadline, hs.transmit()).await?
    };
    match step {
        Step::Read(0) => hs.recv_eof(),
        Step::Read(_) => hs.recv(buf),
        Step::Wrote(n) => hs.advance(n),
        Step::TimedOut => hs.handle_timeout(std::time::Instant::now()),
    }
    Ok(())
}

/// One handshake read into `buf` (cleared first), bounded by `deadline`.
///
/// It reads into `buf` rather than a stack array, which would make every
/// connection's task future (sized by its largest state) bigger for the
/// connection's whole life.
async fn read_step<S: AsyncRead + Unpin>(
    stream: &mut S,
    deadline: Option<std::time::Instant>,
    buf: &mut Vec<u8>,
) -> io::Result<Step> {
    buf.clear();
    buf.reserve(2048);
    Ok(match bounded(deadline, stream.read_buf(buf)).await? {
        Some(n) => Step::Read(n),
        None => Step::TimedOut,
    })
}

/// One handshake write, bounded by `deadline`.
async fn write_step<S: AsyncWrite + Unpin>(
    stream: &mut S,
    deadline: Option<std::time::Instant>,
    bytes: &[u8],
) -> io::Result<Step> {
    let written = bounded(deadline, async {
        let n = stream.write(bytes).await?;
        stream.flush().await?;
        Ok(n)
    })
    .await?;
    match written {
        Some(0) => Err(io::ErrorKind::WriteZero.into()),
        Some(n) => Ok(Step::Wrote(n)),
        None => Ok(Step::TimedOut),
    }
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

/// `recv_message` for the stream and the reader: events until a data
/// message (`Some`) or the close (`None`), by the core's step
/// [`Event::message_or_end`], which the blocking adapter uses too.
fn poll_recv_message(
    cx: &mut Context<'_>,
    mut poll_recv: impl FnMut(&mut Context<'_>) -> Poll<Result<Event, StreamError>>,
) -> Poll<Result<Option<Message>, StreamError>> {
    loop {
        if let Some(next) = ready!(poll_recv(cx))?.message_or_end() {
            return Poll::Ready(Ok(next));
        }
    }
}

/// `Stream::poll_next` for the stream and the reader: every event `recv`
/// returns, the peer's Close included, then `None` where `recv` would
/// return [`StreamError::Closed`].
fn poll_next_event(
    cx: &mut Context<'_>,
    poll_recv: impl FnOnce(&mut Context<'_>) -> Poll<Result<Event, StreamError>>,
) -> Poll<Option<Result<Event, StreamError>>> {
    match ready!(poll_recv(cx)) {
        Err(StreamError::Closed) => Poll::Ready(None),
        other => Poll::Ready(Some(other)),
    }
}
