//! A client that reconnects by itself: [`ReconnectingClient`].
//!
//! The client connects to a `ws://` or `wss://` URL and, when the
//! connection is lost (the transport fails, the peer goes silent past the
//! keepalive, or the server closes it), waits a [`Backoff`] delay and
//! connects again, for as long as it takes or up to
//! [`Builder::max_attempts`] failed attempts in a row. It ends on a close we
//! asked for ([`ReconnectingClient::close`]), on a server close code its
//! [`Retry`] policy says not to come back after (1008 by default), or after
//! `max_attempts`.
//!
//! The waits grow until a connection has stayed up for
//! [`Builder::healthy_after`] (10 s by default): a server that accepts and
//! then drops every connection at once is not hammered, and such
//! short-lived connections count against `max_attempts` like failed ones
//! (RFC 6455 §7.2.3 asks clients to back off after abnormal closes). A
//! close with 1013 (Try Again Later) never resets the backoff.
//!
//! What a server's close code means is a [`Retry`] policy
//! ([`Builder::retry`]): by default 1001 (Going Away) and 1012 (Service
//! Restart) reconnect after the first, jittered wait; 1008 (Policy
//! Violation) ends the client with [`ReconnectError::Stopped`]; every other
//! code backs off.
//!
//! - **Restoring state**: a hook set with [`Builder::on_connect`] runs after
//!   every (re)connection, before anything else is sent or received, so it
//!   can log in again or rejoin rooms.
//! - **Observable**: [`ReconnectingClient::watch`] gives a [`StateWatcher`]
//!   of the [`LinkState`] (connecting, open, reconnecting, closed) that
//!   another task can follow; it is a `tokio::sync::watch` receiver.
//! - **No hidden queue**: [`send`](ReconnectingClient::send) while there is
//!   no open connection fails at once with
//!   [`ReconnectError::NotConnected`], which hands the message back unsent.
//!   The caller decides whether to drop it, keep it for later, or wait
//!   (`watch().wait_for(LinkState::is_open)`) and send it again.
//!   [`ping`](ReconnectingClient::ping) and
//!   [`pong`](ReconnectingClient::pong) likewise send on the open
//!   connection only.
//! - **What was agreed**: [`protocol`](ReconnectingClient::protocol) and
//!   [`agreed_extensions`](ReconnectingClient::agreed_extensions) tell the
//!   current connection's subprotocol and extensions; each reconnection
//!   negotiates them again.
//! - **Two tasks**: [`split`](ReconnectingClient::split) gives a
//!   [`ReconnectingReader`], which receives and reconnects, and a
//!   [`ReconnectingWriter`] (send, ping, pong, close), which always sends
//!   on the reader's current connection.
//! - **Driven by `recv`**: like [`WebSocketStream`], nothing happens while
//!   nobody polls the client. Keep a [`recv`](ReconnectingClient::recv)
//!   loop running: it reads messages, notices a lost connection, waits the
//!   backoff delay and reconnects. Every method is cancel-safe, so `recv`
//!   can sit in a `select!` beside the code that sends.
//!
//! ```no_run
//! use std::time::Duration;
//! use rfc6455::tokio::reconnect::{Backoff, ReconnectingClient};
//! use rfc6455::{Config, Event};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut client = ReconnectingClient::builder("ws://127.0.0.1:9001/chat")?
//!     .config(Config::default().keepalive(Duration::from_secs(20), Duration::from_secs(10)))
//!     .backoff(Backoff::default())
//!     // Runs after every connection: rejoin the room.
//!     .on_connect(|ws| Box::pin(async move { ws.send(r#"{"type":"join","room":"rust"}"#).await }))
//!     .connect()
//!     .await?;
//! client.send("hello").await?;
//! loop {
//!     match client.recv().await? {
//!         Event::Text(text) => println!("{text}"),
//!         _ => {}
//!     }
//! }
//! # }
//! ```
//!
//! A note on names: the client's [`LinkState`] is its link to the server
//! across connections and the waits between them; the core's
//! [`State`](crate::State) is the state of one WebSocket connection
//! (open, closing, closed).
//!
//! The module, one concept per file: `backoff` (the wait formula),
//! `policy` (retry decisions across an outage, pure and clock-free),
//! `state` (the watch channel), `attempt` (one connection attempt),
//! `reader` (receiving and reconnecting), `writer` (sending on the current
//! connection), `client` (both halves together), `builder`, `error`.

mod attempt;
mod backoff;
mod builder;
mod client;
mod error;
mod policy;
mod reader;
mod state;
mod writer;

use std::future::Future;
use std::pin::Pin;

pub use backoff::Backoff;
pub use builder::Builder;
pub use client::ReconnectingClient;
pub use error::ReconnectError;
pub use policy::Retry;
pub use reader::ReconnectingReader;
pub use state::{LinkState, StateWatcher};
pub use writer::ReconnectingWriter;

use crate::tokio::{MaybeTlsStream, WebSocketStream};
use crate::StreamError;

/// A boxed, sendable future: what an [`on_connect`](Builder::on_connect)
/// hook returns.
///
/// ```
/// use rfc6455::tokio::reconnect::BoxFuture;
///
/// let future: BoxFuture<'static, u32> = Box::pin(async { 7 });
/// # drop(future);
/// ```
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The stream a [`ReconnectingClient`] runs over.
type Ws = WebSocketStream<MaybeTlsStream>;
/// The [`on_connect`](Builder::on_connect) hook.
type Hook = dyn for<'a> Fn(&'a mut Ws) -> BoxFuture<'a, Result<(), StreamError>> + Send + Sync;
