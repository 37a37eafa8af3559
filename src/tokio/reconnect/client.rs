//! [`ReconnectingClient`]: the reader and the writer in one value, for
//! use from one task (or [`split`](ReconnectingClient::split) them).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::builder::{Builder, Settings};
use super::writer::Shared;
use super::{LinkState, ReconnectError, ReconnectingReader, ReconnectingWriter, StateWatcher};
use crate::handshake::{self, ClientRequest};
use crate::{CloseCode, Event, Extensions, Message, StreamError};

/// A WebSocket client over TCP (`ws://`) or TLS (`wss://`) that reconnects
/// after the connection is lost; see the [module docs](crate::tokio::reconnect).
///
/// Dropping the client drops its connection without a close frame; call
/// [`close`](Self::close) first for a clean close.
///
/// ```no_run
/// use rfc6455::tokio::reconnect::ReconnectingClient;
/// use rfc6455::Event;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mut client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.connect().await?;
/// let (tx, mut outgoing) = tokio::sync::mpsc::channel::<String>(16);
/// # drop(tx);
/// loop {
///     tokio::select! {
///         event = client.recv() => match event? {
///             Event::Text(text) => println!("< {text}"),
///             Event::Close(frame) => println!("server closed ({frame:?}); reconnecting"),
///             _ => {}
///         },
///         Some(line) = outgoing.recv() => {
///             if let Err(e) = client.send(line).await {
///                 eprintln!("not sent: {e}");
///             }
///         }
///     }
/// }
/// # }
/// ```
pub struct ReconnectingClient {
    reader: ReconnectingReader,
    writer: ReconnectingWriter,
}

impl fmt::Debug for ReconnectingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingClient")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl ReconnectingClient {
    pub(super) fn new(settings: Arc<Settings>) -> ReconnectingClient {
        let shared = Arc::new(Shared::default());
        ReconnectingClient {
            reader: ReconnectingReader::new(settings, shared.clone()),
            writer: ReconnectingWriter::new(shared),
        }
    }

    pub(super) fn reader_mut(&mut self) -> &mut ReconnectingReader {
        &mut self.reader
    }

    /// A builder for a client of a `ws://` or `wss://` URL. Each attempt
    /// sends a fresh handshake (with a new `Sec-WebSocket-Key`) for this
    /// URL; to add headers or subprotocols, use
    /// [`builder_with`](Self::builder_with).
    ///
    /// Fails at once if the URL is invalid, or `wss://` without the feature
    /// `tls` ([`TlsError::NotEnabled`](crate::TlsError::NotEnabled)).
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let builder = ReconnectingClient::builder("ws://127.0.0.1:9001/chat")?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: &str) -> Result<Builder, StreamError> {
        if ClientRequest::new(url)?.is_tls() && cfg!(not(feature = "tls")) {
            return Err(crate::TlsError::NotEnabled.into());
        }
        let url = url.to_owned();
        Ok(Self::builder_with(move || Ok(ClientRequest::new(&url)?)))
    }

    /// A builder whose `request` makes the handshake request of each
    /// attempt: headers such as a fresh `Authorization` token, subprotocols.
    /// It is called once per attempt; an error fails that attempt.
    ///
    /// ```no_run
    /// use rfc6455::handshake::ClientRequest;
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() {
    /// let client = ReconnectingClient::builder_with(|| {
    ///     Ok(ClientRequest::new("ws://127.0.0.1:9001/chat")?
    ///         .protocol("chat.v1")?
    ///         .header("Authorization", "Bearer token")?)
    /// })
    /// .build();
    /// # }
    /// ```
    pub fn builder_with<F>(request: F) -> Builder
    where
        F: Fn() -> Result<ClientRequest, handshake::Error> + Send + Sync + 'static,
    {
        Builder::new(request)
    }

    /// The next event from the current connection, reconnecting as needed
    /// in between: a lost connection is not an error, the call just goes
    /// on (see [`watch`](Self::watch) to follow that). Cancel-safe.
    ///
    /// When the server closes the connection, its [`Event::Close`] is
    /// returned and the next call reconnects (servers close with 1001 or
    /// 1012 when they restart); call [`close`](Self::close) to stop instead.
    ///
    /// Errors: [`ReconnectError::GaveUp`] once, when
    /// [`max_attempts`](Builder::max_attempts) attempts in a row failed,
    /// then [`ReconnectError::Closed`], as after `close`.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::ReconnectingClient;
    /// use rfc6455::Event;
    ///
    /// # async fn demo(mut client: ReconnectingClient) -> Result<(), Box<dyn std::error::Error>> {
    /// loop {
    ///     match client.recv().await? {
    ///         Event::Text(text) => println!("{text}"),
    ///         Event::Binary(data) => println!("{} bytes", data.len()),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Result<Event, ReconnectError> {
        self.reader.recv().await
    }

    /// The next data message, reconnecting as needed in between; pings,
    /// pongs and the server's close frames are skipped. Cancel-safe.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::ReconnectingClient;
    /// # async fn demo(mut client: ReconnectingClient) {
    /// while let Ok(message) = client.recv_message().await {
    ///     println!("{} bytes", message.len());
    /// }
    /// # }
    /// ```
    pub async fn recv_message(&mut self) -> Result<Message, ReconnectError> {
        self.reader.recv_message().await
    }

    /// Sends a message on the open connection and waits until it is
    /// written.
    ///
    /// While there is no open connection (connecting, waiting to
    /// reconnect, or the hook still running) nothing is queued: the call
    /// fails at once with [`ReconnectError::NotConnected`], which hands the
    /// message back. After [`close`](Self::close) it fails with
    /// [`ReconnectError::Closed`]. Cancel-safe: a call dropped before it
    /// returns either queued its message or did not.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::{ReconnectError, ReconnectingClient};
    /// use rfc6455::Message;
    ///
    /// # async fn demo(mut client: ReconnectingClient) -> Result<(), ReconnectError> {
    /// // Keep what could not be sent, and send it once the client is open again.
    /// let mut unsent: Vec<Message> = Vec::new();
    /// match client.send("hello").await {
    ///     Err(ReconnectError::NotConnected(message)) => unsent.push(message),
    ///     other => other?,
    /// }
    /// loop {
    ///     let event = client.recv().await?; // reconnects when needed
    ///     if client.state().is_open() {
    ///         for message in unsent.drain(..) {
    ///             client.send(message).await?;
    ///         }
    ///     }
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), ReconnectError> {
        self.writer.send(message).await
    }

    /// Sends a ping (payload at most 125 bytes) on the open connection and
    /// waits until it is written; the server's pong comes back through
    /// [`recv`](Self::recv) as [`Event::Pong`]. For liveness checks
    /// without code of your own, prefer the config's keepalive
    /// ([`Config::keepalive`](crate::Config::keepalive)), which also fails
    /// a silent connection so that the client reconnects.
    ///
    /// Fails with [`ReconnectError::NoConnection`] while no connection is
    /// open (nothing is queued), [`ReconnectError::Closed`] after
    /// [`close`](Self::close). Cancel-safe.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::ReconnectingClient;
    /// use rfc6455::Event;
    ///
    /// # async fn demo(mut client: ReconnectingClient) -> Result<(), Box<dyn std::error::Error>> {
    /// client.ping("t=1").await?;
    /// loop {
    ///     if let Event::Pong(payload) = client.recv().await? {
    ///         assert_eq!(&payload[..], b"t=1");
    ///         break;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), ReconnectError> {
        self.writer.ping(payload).await
    }

    /// Sends an unsolicited pong (a one-way heartbeat, RFC 6455 §5.5.3);
    /// the server's pings are answered without this. Errors as for
    /// [`ping`](Self::ping).
    pub async fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), ReconnectError> {
        self.writer.pong(payload).await
    }

    /// Closes for good: sends a close frame with `code` and `reason`, waits
    /// for the server's reply (bounded by [`Config::close_timeout`](crate::Config::close_timeout);
    /// messages that arrive meanwhile are dropped) and does not reconnect.
    /// A connection attempt under way is abandoned. Calling it again does
    /// nothing. Cancel-safe: if it is dropped early the client still never
    /// reconnects, and `recv` finishes the closing handshake.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::ReconnectingClient;
    /// use rfc6455::CloseCode;
    ///
    /// # async fn demo(mut client: ReconnectingClient) -> Result<(), Box<dyn std::error::Error>> {
    /// client.close(CloseCode::NORMAL, "bye").await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), ReconnectError> {
        self.writer.close(code, reason).await?;
        self.reader.finish_close().await;
        Ok(())
    }

    /// The current state.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::{LinkState, ReconnectingClient};
    /// # fn demo(client: ReconnectingClient) {
    /// if client.state() == LinkState::Open {
    ///     println!("connected");
    /// }
    /// # }
    /// ```
    pub fn state(&self) -> LinkState {
        self.reader.state()
    }

    /// A watcher of the state for another task; its
    /// [`changed`](StateWatcher::changed) waits for the next change after
    /// the current state.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::{LinkState, ReconnectingClient};
    ///
    /// # async fn demo(client: ReconnectingClient) {
    /// let mut watcher = client.watch();
    /// tokio::spawn(async move {
    ///     while let Some(state) = watcher.changed().await {
    ///         if let LinkState::Reconnecting { delay, .. } = state {
    ///             println!("lost the server; trying again in {delay:?}");
    ///         }
    ///     }
    /// });
    /// # }
    /// ```
    pub fn watch(&self) -> StateWatcher {
        self.reader.watch()
    }

    /// The subprotocol the server selected for the open connection, as
    /// [`Response::protocol`](crate::handshake::Response::protocol) gives
    /// it; `None` while no connection is open or if the server selected
    /// none. Offer subprotocols with
    /// [`builder_with`](Self::builder_with). Each connection may agree on
    /// a different one: read it again after a reconnection (in the
    /// [`on_connect`](Builder::on_connect) hook, the stream is not yet
    /// here).
    ///
    /// ```no_run
    /// use rfc6455::handshake::ClientRequest;
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ReconnectingClient::builder_with(|| {
    ///     Ok(ClientRequest::new("ws://127.0.0.1:9001/chat")?.protocols(["chat.v2", "chat.v1"])?)
    /// })
    /// .connect()
    /// .await?;
    /// if client.protocol() != Some("chat.v2") {
    ///     println!("falling back to {:?}", client.protocol());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.reader.protocol()
    }

    /// The extensions agreed for the open connection (such as
    /// permessage-deflate, offered when the config enables it), as
    /// [`Response::agreed_extensions`](crate::handshake::Response::agreed_extensions)
    /// gives them. `None` while no connection is open.
    ///
    /// ```no_run
    /// # #[cfg(feature = "deflate")]
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use rfc6455::deflate::DeflateConfig;
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    /// use rfc6455::Config;
    ///
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?
    ///     .config(Config::default().deflate(DeflateConfig::default()))
    ///     .connect()
    ///     .await?;
    /// let compressed = client.agreed_extensions().is_some_and(|e| e.deflate().is_some());
    /// println!("compressed: {compressed}");
    /// # Ok(()) }
    /// ```
    pub fn agreed_extensions(&self) -> Option<&Extensions> {
        self.reader.agreed_extensions()
    }

    /// Splits into a reader, which receives and does the reconnecting,
    /// and a writer, which sends on whichever connection is open: two
    /// tasks, one waiting for messages while the other sends, as with
    /// [`WebSocketStream::split`](crate::tokio::WebSocketStream::split).
    ///
    /// Every connection is split the same way underneath, so the halves
    /// behave like the whole client: the writer never queues while no
    /// connection is open ([`ReconnectError::NotConnected`] hands the
    /// message back), its `close` ends the client (the reader then gets
    /// the server's reply and [`ReconnectError::Closed`]), and dropping
    /// the reader closes the client.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    /// use rfc6455::{CloseCode, Event};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.connect().await?;
    /// let mut watcher = client.watch();
    /// let (mut reader, mut writer) = client.split();
    /// let reading = tokio::spawn(async move {
    ///     while let Ok(event) = reader.recv().await {
    ///         if let Event::Text(text) = event {
    ///             println!("< {text}");
    ///         }
    ///     }
    /// });
    /// for line in ["one", "two"] {
    ///     watcher.wait_for(|state| state.is_open()).await;
    ///     writer.send(line).await?;
    /// }
    /// writer.close(CloseCode::NORMAL, "done").await?;
    /// reading.await?;
    /// # Ok(()) }
    /// ```
    pub fn split(self) -> (ReconnectingReader, ReconnectingWriter) {
        (self.reader, self.writer)
    }
}
