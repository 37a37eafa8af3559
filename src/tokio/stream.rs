//! [`WebSocketStream`]: a whole connection, used from one task.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};

use super::inner::{Inner, Side};
use super::split::{WebSocketReader, WebSocketWriter};
use crate::{CloseCode, Config, Connection, Event, Message, MessageKind, Role, State, StreamError};

/// A WebSocket over an async stream.
///
/// Every method that awaits is **cancel-safe**: its state lives in the
/// `WebSocketStream`, not in the future, so dropping the future (for
/// example when another `select!` branch wins) loses no message and no
/// byte. A `send` or `feed` that is dropped before it returns did not queue
/// its message.
///
/// The connection's timers (keepalive, close timeout) and its automatic
/// replies (pongs, the close echo) are driven while [`recv`](Self::recv) is
/// being polled: keep a `recv` loop running.
#[derive(Debug)]
pub struct WebSocketStream<S> {
    inner: Inner<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Wraps a stream whose handshake is already done (for example by
    /// hyper or axum). `leftover` holds bytes read past the handshake.
    pub fn from_raw(stream: S, role: Role, config: Config, leftover: &[u8]) -> WebSocketStream<S> {
        WebSocketStream::from_connection(stream, Connection::with_leftover(role, config, leftover))
    }

    /// Wraps a stream whose handshake was done elsewhere and agreed on
    /// `extensions` (for example permessage-deflate, with
    /// [`Extensions::with_deflate`](crate::Extensions)): the connection
    /// runs exactly those. `leftover` holds bytes read past the handshake.
    pub fn from_raw_with_extensions(
        stream: S,
        role: Role,
        config: Config,
        extensions: &crate::Extensions,
        leftover: &[u8],
    ) -> WebSocketStream<S> {
        let mut conn = Connection::with_extensions(role, config, extensions);
        conn.recv(leftover);
        WebSocketStream::from_connection(stream, conn)
    }

    /// Wraps a stream and a connection built for it (for example by a
    /// [`ServerHandshake`](crate::handshake::ServerHandshake)).
    pub fn from_connection(stream: S, conn: Connection) -> WebSocketStream<S> {
        WebSocketStream {
            inner: Inner::new(stream, conn),
        }
    }

    /// The next event. Pongs and the close reply are written on the way.
    /// After [`Event::Close`] or an error, returns [`StreamError::Closed`]
    /// (the [`Stream`] impl ends there instead, with `None`).
    ///
    /// When the peer breaks a rule, the error comes back only once the
    /// connection has sent its Close and lingered for the peer's end
    /// (within the close timeout and
    /// [`Config::max_linger_bytes`](crate::Config::max_linger_bytes)), so
    /// dropping the stream then cannot reset a connection whose Close is
    /// still in flight (RFC 6455 §7.1.1).
    pub async fn recv(&mut self) -> Result<Event, StreamError> {
        poll_fn(|cx| self.inner.poll_recv(cx, Side::Reader)).await
    }

    /// The next data message, answering pings on the way; `None` once the
    /// peer closed cleanly, with its code and reason then in
    /// [`state`](Self::state) (`State::Closed`). Cancel-safe.
    pub async fn recv_message(&mut self) -> Result<Option<Message>, StreamError> {
        poll_fn(|cx| super::poll_recv_message(cx, |cx| self.inner.poll_recv(cx, Side::Reader)))
            .await
    }

    /// Queues a message and waits until it is written to the stream.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), StreamError> {
        // Not `feed` then `flush`: nested futures would each keep room for
        // the message, and every connection's task carries the largest.
        let message = message.into();
        poll_fn(|cx| self.inner.poll_ready(cx, Side::Reader)).await?;
        self.inner.queue(message)?;
        poll_fn(|cx| self.inner.poll_flush(cx, Side::Reader)).await
    }

    /// Queues a message without waiting for it to be written, after waiting
    /// while more than [`Config::send_high_water`] bytes are queued. Queued
    /// bytes go out with the next `send`, `flush` or `recv`.
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), StreamError> {
        poll_fn(|cx| self.inner.poll_ready(cx, Side::Reader)).await?;
        self.inner.queue(message.into())
    }

    /// Sends one fragment of a message (see [`Connection::send_fragment`]).
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: Bytes,
        fin: bool,
    ) -> Result<(), StreamError> {
        poll_fn(|cx| self.inner.poll_ready(cx, Side::Reader)).await?;
        self.inner.conn.send_fragment(kind, payload, fin)?;
        self.flush().await
    }

    /// Sends a ping.
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), StreamError> {
        self.inner.conn.ping(payload.into())?;
        self.flush().await
    }

    /// Sends an unsolicited pong.
    pub async fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), StreamError> {
        self.inner.conn.pong(payload.into())?;
        self.flush().await
    }

    /// Sends a close frame and writes it out. Keep calling
    /// [`recv`](Self::recv) until it returns [`Event::Close`] (or an error,
    /// such as the close timeout) to finish the closing handshake. A second
    /// call does nothing.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        self.inner.conn.close(code, reason)?;
        self.flush().await
    }

    /// Ties the connection to a server's [`Shutdown`](crate::Shutdown):
    /// once it is signaled, the connection starts its closing handshake
    /// with 1001 (Going Away) and the shutdown's reason, and `recv` goes on
    /// to return the peer's [`Event::Close`] (or the close timeout's error).
    /// Dropping the stream releases the guard.
    pub fn set_shutdown(&mut self, guard: crate::ShutdownGuard) {
        self.inner.shutdown = Some(guard);
    }

    /// Writes what a [hub](crate::hub) queues for `subscriber`, from now
    /// on, while [`recv`](Self::recv) (or, once split, the reader's `recv`)
    /// is polled: the loop that answers pings also delivers broadcasts, in
    /// the order they were published, up to
    /// [`Config::send_high_water`](crate::Config::send_high_water) of
    /// unwritten bytes at a time. If the hub drops the subscriber as too
    /// slow, the connection closes with 1008 (Policy Violation). When the
    /// connection ends, the subscriber leaves every topic.
    ///
    /// Keep `subscriber` while the connection lives: dropping it leaves
    /// every topic. A stream writes for one subscriber; attaching another
    /// replaces it. Once split, the reader does the delivering
    /// ([`WebSocketReader::attach`] attaches after the split). Deliveries
    /// wait while a fragmented message is being sent. Once the connection
    /// starts closing, or its transport fails, the subscriber leaves every
    /// topic and takes no more messages.
    pub fn attach(&mut self, subscriber: &crate::hub::Subscriber) {
        self.inner.attach(subscriber);
    }

    /// Writes every queued byte.
    pub async fn flush(&mut self) -> Result<(), StreamError> {
        poll_fn(|cx| self.inner.poll_flush(cx, Side::Reader)).await
    }

    /// Bytes queued and not yet written.
    pub fn buffered_amount(&self) -> usize {
        self.inner.conn.buffered_amount()
    }

    /// The connection's state.
    pub fn state(&self) -> &State {
        self.inner.conn.state()
    }

    /// The sans-IO connection inside.
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.inner.io
    }

    /// Splits into a reader and a writer that can be used from different
    /// tasks at the same time.
    ///
    /// Both halves share the stream and the connection behind one mutex
    /// that is held only inside a single non-blocking poll (one read or one
    /// write attempt), never across an await: a reader never waits for a
    /// pending write to finish, and a writer never waits for data to
    /// arrive. Pongs and close replies are queued by the reader and written
    /// by whichever half writes next; the reader writes them itself when it
    /// is polled, so they go out even if the writer is idle. Keepalive and
    /// the close timeout are driven by the reader.
    pub fn split(self) -> (WebSocketReader<S>, WebSocketWriter<S>) {
        let mut inner = self.inner;
        inner.enable_split();
        let shared = Arc::new(Mutex::new(inner));
        (
            WebSocketReader::new(shared.clone()),
            WebSocketWriter::new(shared),
        )
    }
}

/// The events of [`recv`](WebSocketStream::recv), as a `Stream`: the same
/// items in the same order, pings and pongs included (already answered),
/// the peer's [`Event::Close`] with its code and reason last, then `None`
/// where `recv` would return [`StreamError::Closed`]. One loop sees the
/// close code and has one error path; see the [module docs](super) for why
/// the items are events rather than messages.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use rfc6455::Event;
///
/// # async fn demo(mut ws: rfc6455::tokio::WebSocketStream<tokio::net::TcpStream>) -> Result<(), rfc6455::StreamError> {
/// while let Some(event) = ws.next().await {
///     match event? {
///         Event::Text(text) => println!("{text}"),
///         Event::Close(Some(frame)) => println!("closed: {} {}", frame.code, frame.reason),
///         _ => {} // binary, pings, pongs, a close without a code
///     }
/// }
/// # Ok(()) }
/// ```
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Event, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let inner = &mut self.get_mut().inner;
        super::poll_next_event(cx, |cx| inner.poll_recv(cx, Side::Reader))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = StreamError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        self.get_mut().inner.poll_ready(cx, Side::Reader)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), StreamError> {
        self.get_mut().inner.queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        self.get_mut().inner.poll_flush(cx, Side::Reader)
    }

    /// Starts the closing handshake (1000) and writes it out; keep polling
    /// the stream: the peer's reply is its last item.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let inner = &mut self.get_mut().inner;
        inner.conn.close(CloseCode::NORMAL, "")?;
        inner.poll_flush(cx, Side::Reader)
    }
}
