//! # rfc6455
//!
//! A WebSocket ([RFC 6455]) implementation built around a **sans-IO core**:
//! deterministic state machines that never touch a socket or a clock, for
//! the opening handshake and for the connection. Bytes go in, events come
//! out; commands go in, bytes come out; time goes in as an
//! [`Instant`](std::time::Instant). Everything else only moves bytes.
//!
//! Where to start, from the path most servers take:
//!
//! - `axum` (feature `axum`): the `WebSocketUpgrade` extractor, over
//!   HTTP/1.1 and HTTP/2 ([RFC 8441] extended CONNECT) alike; `hyper`
//!   (feature `hyper`) for hyper without axum.
//! - `tokio` (feature `tokio`): `WebSocketStream` over any
//!   `AsyncRead + AsyncWrite`, cancel-safe and splittable, with
//!   backpressure, keepalive and the close timeout; `connect`/`accept`
//!   for raw TCP, and `tokio::h2` (feature `h2`), a client over HTTP/2.
//! - `hub` (feature `tokio`): broadcast and rooms: topics, messages framed
//!   (and compressed) once for every subscriber, bounded queues for slow
//!   ones, and a `Bus` to span server instances (Redis and the like). Its
//!   module docs are the chapter on broadcast; [`PreparedMessage`] is the
//!   core piece, usable without it.
//! - [`blocking`]: the same over any `Read + Write`.
//! - [`handshake`]: the opening handshake as two state machines
//!   ([`handshake::ServerHandshake`], [`handshake::ClientHandshake`]) and
//!   the same rules on `http` types (feature `http`).
//! - [`Connection`]: framing, fragmentation, UTF-8, ping/pong, the closing
//!   handshake, limits and timers.
//! - `deflate` (feature `deflate`): permessage-deflate (RFC 7692).
//! - `tls` (feature `tls`): `wss://` over rustls (the *ring* provider,
//!   webpki roots) for both adapters: `connect("wss://...")`, a rustls
//!   config of your own (`connect_tls`), and TLS servers (`accept_tls`).
//!   Without it a `wss://` URL fails with [`TlsError::NotEnabled`].
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
//! [RFC 8441]: https://www.rfc-editor.org/rfc/rfc8441
//!
//! ## Serving from axum
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # mod demo {
//! use axum::{response::Response, routing::any, Router};
//! use rfc6455::axum::{WebSocket, WebSocketUpgrade};
//! use rfc6455::handshake::Refusal;
//!
//! async fn echo(upgrade: WebSocketUpgrade) -> Response {
//!     if upgrade.request().origin().is_some_and(|o| o != "https://app.example") {
//!         return upgrade.reject(Refusal::new(403));
//!     }
//!     upgrade.protocols(["chat.v1"]).on_upgrade(|mut ws: WebSocket| async move {
//!         while let Ok(Some(message)) = ws.recv_message().await {
//!             if ws.send(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//!
//! // `any`, not `get`: over HTTP/2 the handshake is a CONNECT.
//! pub fn app() -> Router {
//!     Router::new().route("/ws", any(echo))
//! }
//! # }
//! ```
//!
//! ## An echo server on raw TCP
//!
//! ```no_run
//! use std::net::TcpListener;
//! use rfc6455::{blocking::WebSocket, Event};
//!
//! let listener = TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     std::thread::spawn(move || -> Result<(), rfc6455::StreamError> {
//!         let mut ws = WebSocket::accept(stream?)?;
//!         while let Some(message) = ws.recv_message()? {
//!             ws.send(message)?;
//!         }
//!         Ok(())
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## The core without I/O
//!
//! ```
//! use bytes::Buf;
//! use rfc6455::{CloseCode, Config, Connection, Event, Role};
//!
//! let mut client = Connection::new(Role::Client, Config::default());
//! let mut server = Connection::new(Role::Server, Config::default());
//!
//! client.send("hello")?;
//! let out = client.transmit();
//! server.recv(out.chunk());
//! let n = out.remaining();
//! out.advance(n);
//! assert_eq!(server.poll_event()?, Some(Event::Text("hello".into())));
//!
//! server.close(CloseCode::NORMAL, "bye")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Errors
//!
//! Errors are split by blame: [`Error`] when the peer broke a rule (the
//! connection has already queued the right close code), [`SendError`] when
//! a local command is not allowed, [`handshake::Error`] for the upgrade, and
//! [`StreamError`] from the adapters, which wraps those and I/O errors.
//!
//! ## Security and limits
//!
//! Every buffer and every wait is bounded, and every bound has a default
//! chosen for a public server: the handshake (10 s, 8 KiB, 64 headers),
//! frames (16 MiB), messages (64 MiB, also while inflating), empty
//! fragments (64 per message), pongs to a peer that does not read, the
//! closing handshake (5 s), and dead peers through keepalive. The chapter
//! [`security`] lists each with what it stops and how to change it.

// Denied everywhere but `unchecked`, the one module allowed to opt out.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod blocking;
mod client_tls;
mod close;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
mod extensions;
pub mod frame;
pub mod handshake;
#[cfg(feature = "tokio")]
pub mod hub;
#[cfg(feature = "hyper")]
pub mod hyper;
mod parsed;
pub mod security;
pub mod shutdown;
mod stream_error;
#[cfg(feature = "tls")]
pub mod tls;
mod tls_error;
#[cfg(feature = "tokio")]
pub mod tokio;
mod unchecked;
pub mod utf8;

pub use close::{CloseCode, CloseFrame, MAX_REASON_LEN};
pub use connection::{
    CloseStatus, Config, Connection, Event, Message, MessageKind, Outgoing, PreparedMessage, Role,
    State,
};
pub use error::{Error, ProtocolError, SendError};
pub use extensions::Extensions;
pub use parsed::Parsed;
pub use shutdown::{Shutdown, ShutdownGuard};
pub use stream_error::StreamError;
pub use tls_error::TlsError;
pub use utf8::Utf8Bytes;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
