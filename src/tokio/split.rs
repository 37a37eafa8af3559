//! The halves of a split [`WebSocketStream`](super::WebSocketStream).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};

use super::inner::{Inner, Side};
use crate::{CloseCode, Event, Message, MessageKind, State, StreamError};

type Shared<S> = Arc<Mutex<Inner<S>>>;

fn lock<S>(shared: &Shared<S>) -> MutexGuard<'_, Inner<S>> {
    // A panic elsewhere while holding the lock leaves the connection as
    // consistent as any poll boundary does; keep using it.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The receiving half: events, pongs, close replies and timers.
#[derive(Debug)]
pub struct WebSocketReader<S> {
    shared: Shared<S>,
}

/// The sending half.
#[derive(Debug)]
pub struct WebSocketWriter<S> {
    shared: Shared<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketReader<S> {
    pub(crate) fn new(shared: Shared<S>) -> Self {
        WebSocketReader { shared }
    }

    /// Writes what a [hub](crate::hub) queues for `subscriber` while this
    /// reader's `recv` is polled; see
    /// [`WebSocketStream::attach`](super::WebSocketStream::attach).
    pub fn attach(&mut self, subscriber: &crate::hub::Subscriber) {
        lock(&self.shared).attach(subscriber);
    }

    /// The next event (see [`WebSocketStream::recv`](super::WebSocketStream::recv)).
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Result<Event, StreamError> {
        poll_fn(|cx| lock(&self.shared).poll_recv(cx, Side::Reader)).await
    }

    /// The next data message (see
    /// [`WebSocketStream::recv_message`](super::WebSocketStream::recv_message));
    /// `None` once the peer closed cleanly. Cancel-safe.
    pub async fn recv_message(&mut self) -> Result<Option<Message>, StreamError> {
        poll_fn(|cx| {
            let mut inner = lock(&self.shared);
            super::poll_recv_message(cx, |cx| inner.poll_recv(cx, Side::Reader))
        })
        .await
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        lock(&self.shared).conn.state().clone()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketWriter<S> {
    pub(crate) fn new(shared: Shared<S>) -> Self {
        WebSocketWriter { shared }
    }

    /// Queues a message and waits until it is written. Cancel-safe: a
    /// dropped call either queued its message or did not.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), StreamError> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues a message once the queue is at or below the high-water mark.
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), StreamError> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx, Side::Writer)).await?;
        lock(&self.shared).queue(message.into())
    }

    /// Sends one fragment of a message.
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: Bytes,
        fin: bool,
    ) -> Result<(), StreamError> {
        poll_fn(|cx| lock(&self.shared).poll_ready(cx, Side::Writer)).await?;
        lock(&self.shared).conn.send_fragment(kind, payload, fin)?;
        self.flush().await
    }

    /// Sends a ping.
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), StreamError> {
        lock(&self.shared).conn.ping(payload.into())?;
        self.flush().await
    }

    /// Sends an unsolicited pong (a heartbeat the peer need not answer,
    /// RFC 6455 §5.5.3). Pongs to the peer's pings go out by themselves.
    pub async fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), StreamError> {
        lock(&self.shared).conn.pong(payload.into())?;
        self.flush().await
    }

    /// Starts the closing handshake; the reader receives the peer's reply.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        lock(&self.shared).conn.close(code, reason)?;
        self.flush().await
    }

    /// Writes every queued byte.
    pub async fn flush(&mut self) -> Result<(), StreamError> {
        poll_fn(|cx| lock(&self.shared).poll_flush(cx, Side::Writer)).await
    }

    /// Bytes queued and not yet written.
    pub fn buffered_amount(&self) -> usize {
        lock(&self.shared).conn.buffered_amount()
    }

    /// The connection's state: whether it can still send
    /// ([`State::Open`]).
    pub fn state(&self) -> State {
        lock(&self.shared).conn.state().clone()
    }
}

/// The events of [`recv`](WebSocketReader::recv), the peer's
/// [`Event::Close`] last, then `None`: as for
/// [`WebSocketStream`](super::WebSocketStream)'s `Stream` impl.
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketReader<S> {
    type Item = Result<Event, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut inner = lock(&self.shared);
        super::poll_next_event(cx, |cx| inner.poll_recv(cx, Side::Reader))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketWriter<S> {
    type Error = StreamError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        lock(&self.shared).poll_ready(cx, Side::Writer)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), StreamError> {
        lock(&self.shared).queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        lock(&self.shared).poll_flush(cx, Side::Writer)
    }

    /// Starts the closing handshake (1000) and writes it out; the reader's
    /// last item is the peer's reply.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let mut inner = lock(&self.shared);
        inner.conn.close(CloseCode::NORMAL, "")?;
        inner.poll_flush(cx, Side::Writer)
    }
}
