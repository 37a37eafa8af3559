//! # rfc6455
//!
//! A WebSocket ([RFC 6455]) implementation built around a **sans-IO core**:
//! deterministic state machines that never touch a socket or a clock, for
//! the opening handshake and for the connection. Bytes go in, events come
//! out; commands go in, bytes come out; time goes in as an
//! [`Instant`](std::time::Instant). Around it, adapters that only move
//! bytes: axum, hyper, tokio, blocking I/O. Most users take the first two
//! sections below (features `axum` and `tokio`); the others are the layers
//! underneath, each usable on its own.
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
//! [RFC 8441]: https://www.rfc-editor.org/rfc/rfc8441
//!
//! ## A server, from axum
//!
//! `rfc6455::axum::WebSocketUpgrade` (feature `axum`) is an extractor: it
//! validates the upgrade, over HTTP/1.1 and over HTTP/2 ([RFC 8441]
//! extended CONNECT) alike, and answers a request that is not a valid
//! handshake (400 with the rule broken, 426) before your handler runs.
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
//!         return upgrade.refuse(Refusal::new(403));
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
//! pub async fn serve() -> std::io::Result<()> {
//!     // `any`, not `get`: over HTTP/2 the handshake is a CONNECT.
//!     let app = Router::new().route("/ws", any(echo));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await
//! }
//! # }
//! ```
//!
//! The socket the handler gets is the tokio adapter's `WebSocketStream`:
//! `recv()` is cancel-safe (it can sit in a `select!`), `split()` gives a
//! reader and a writer for two tasks, `send` waits while the peer does not
//! read, and `Config` sets the limits, keepalive and close timeout.
//! `hub` (feature `tokio`) broadcasts to rooms of them, framing (and
//! compressing) a message once for every subscriber.
//!
//! ## A client, on tokio
//!
//! `rfc6455::tokio::connect` (feature `tokio`; `wss://` with `tls`) opens a
//! TCP connection and runs the client handshake:
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rfc6455::{CloseCode, Event};
//!
//! let (mut ws, _response) = rfc6455::tokio::connect("ws://127.0.0.1:3000/ws").await?;
//! ws.send("hello").await?;
//! if let Some(reply) = ws.recv_message().await? {
//!     println!("{reply:?}");
//! }
//! ws.close(CloseCode::NORMAL, "done").await?;
//! // The closing handshake ends with the server's Close.
//! while !matches!(ws.recv().await, Ok(Event::Close(_)) | Err(_)) {}
//! # Ok(()) }
//! ```
//!
//! `connect_with` takes a prepared request (subprotocols, headers) and a
//! `Config` (compression, limits); `tokio::reconnect::ReconnectingClient`
//! reconnects by itself with backoff; `tokio::h2` (feature `h2`) opens
//! WebSockets over HTTP/2.
//!
//! ## The layers underneath
//!
//! - `hyper` (feature `hyper`): `hyper::Upgrade` takes a hyper 1 request
//!   (HTTP/1.1 Upgrade or HTTP/2 extended CONNECT) and gives the response to
//!   return and a future of the `WebSocketStream`; what the axum extractor
//!   is made of.
//! - `tokio` (feature `tokio`): `WebSocketStream` over any
//!   `AsyncRead + AsyncWrite`; `accept`/`accept_with` run the server
//!   handshake on a raw TCP (or TLS) stream, `client` the client one.
//! - [`blocking`]: the same over any `Read + Write`, a thread per
//!   connection, no runtime (below).
//! - [`handshake`]: the opening handshake as two state machines
//!   ([`handshake::ServerHandshake`], [`handshake::ClientHandshake`]) and
//!   the same rules on `http` types (feature `http`).
//! - [`Connection`]: the sans-IO core: framing, fragmentation, UTF-8,
//!   ping/pong, the closing handshake, limits and timers (below).
//!
//! A blocking echo server on raw TCP:
//!
//! ```no_run
//! use std::net::TcpListener;
//! use rfc6455::blocking;
//!
//! let listener = TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     std::thread::spawn(move || -> Result<(), rfc6455::StreamError> {
//!         let mut ws = blocking::accept(stream?)?;
//!         while let Some(message) = ws.recv_message()? {
//!             ws.send(message)?;
//!         }
//!         Ok(())
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The core without I/O: two connections, bytes handed from one to the
//! other by hand.
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
//! ## Features
//!
//! None is on by default: without features the crate is the core, the
//! handshake and the blocking adapter. Items that need a feature say so
//! in these docs ("Available on crate feature ... only").
//!
//! | feature | enables |
//! | --- | --- |
//! | `tokio` | the async adapter (`tokio` module: `WebSocketStream`, `connect`, `accept`, split halves, the reconnecting client) and `hub` (broadcast and rooms) |
//! | `axum` | the `axum` module's `WebSocketUpgrade` extractor for axum 0.8; turns on `hyper` |
//! | `hyper` | the `hyper` module: upgrading a hyper 1 request; turns on `http` and `tokio` |
//! | `h2` | `tokio::h2`, the HTTP/2 (RFC 8441) client on the `h2` crate, and `:protocol` from h2 servers; turns on `http` and `tokio` |
//! | `http` | handshakes on `http` types: `Request::from_http`, `Accepted::to_http`, refusals as `http::Response` |
//! | `deflate` | permessage-deflate (RFC 7692): the `deflate` module, `Config::deflate` |
//! | `tls` | `wss://` over rustls (*ring* provider, webpki roots) for both adapters: `connect("wss://...")`, `connect_tls` with a rustls config of your own, `accept_tls` for servers; the [`tls`] module. Without it a `wss://` URL fails with [`TlsError::NotEnabled`] |
//! | `tracing` | `tracing` events from the adapters, none per message (a healthy connection logs nothing): refusals (`status`, `reason`, sent or received), connections failed by a broken rule (`close_code`, `rule` naming the RFC section), timeouts (handshake, close, keepalive) at `debug`, hub evictions at `warn`; `peer` where the adapter knows it (the axum extractor served with `into_make_service_with_connect_info::<SocketAddr>`), else run each connection in a span naming it. No public items: the core logs nothing and reports through its errors |
//!
//! ## Errors
//!
//! Errors are split by blame: [`Error`] when the peer broke a rule (the
//! connection has already queued the right close code), [`SendError`] when
//! a local command is not allowed, [`handshake::Error`] for the upgrade
//! (itself by blame: [`handshake::RequestError`] for a request a server
//! received, with the HTTP status it was refused with,
//! [`handshake::ResponseError`] for an answer a client received, and
//! [`handshake::BuildError`] for local input), and [`StreamError`] from the
//! adapters, which wraps those and I/O errors.
//!
//! A non-101 answer has one word on each side: a server *refuses*
//! ([`handshake::Refusal`], `refuse`, [`handshake::Error::Refused`],
//! [`StreamError::Refused`]); a client is *rejected*
//! ([`handshake::Error::Rejected`] with the [`handshake::Rejection`] it
//! read).
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
// docs.rs (`--cfg docsrs`, Cargo.toml): a badge naming the feature on
// every item that needs one; `doc_cfg` now derives them from the `cfg`s.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, unreachable_pub, unnameable_types)]

#[cfg(feature = "axum")]
pub mod axum;
pub mod blocking;
mod close;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
#[cfg(feature = "tokio")]
pub mod hub;
#[cfg(feature = "hyper")]
pub mod hyper;
mod rng;
pub mod security;
pub mod shutdown;
#[cfg(test)]
mod testing;
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
mod trace;
mod unchecked;
pub mod utf8;

pub use close::{CloseCode, CloseFrame, MAX_REASON_LEN};
pub use connection::{
    CloseStatus, Config, Connection, Event, Extensions, Message, MessageKind, Outgoing,
    PreparedMessage, Role, State,
};
pub use error::{Error, ProtocolError, SendError, StreamError};
pub use frame::Parsed;
pub use shutdown::{Shutdown, ShutdownGuard};
pub use tls::TlsError;
pub use utf8::Utf8Bytes;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
