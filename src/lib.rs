//! # rfc6455
//!
//! A WebSocket ([RFC 6455]) implementation built around a **sans-IO core**:
//! a deterministic state machine that never touches a socket or a clock.
//! Bytes go in, events come out; commands go in, bytes come out; time goes
//! in as an [`Instant`](std::time::Instant). Thin adapters move bytes
//! between that core and a stream.
//!
//! - [`handshake`]: the HTTP/1.1 upgrade, client and server, I/O-free.
//! - [`Connection`]: framing, fragmentation, UTF-8, ping/pong, the closing
//!   handshake, limits and timers.
//! - [`blocking`]: an adapter for any `Read + Write` stream.
//! - `tokio` (feature `tokio`): an async adapter for any
//!   `AsyncRead + AsyncWrite`, cancel-safe and splittable, with
//!   backpressure, keepalive and the close timeout.
//! - `tls` (feature `tls`): `wss://` over rustls (the *ring* provider,
//!   webpki roots) for both adapters: `connect("wss://...")`, a rustls
//!   config of your own (`connect_tls`), and TLS servers (`accept_tls`).
//!   Without it a `wss://` URL fails with [`TlsError::NotEnabled`].
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
//!
//! ## An echo server
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
#[cfg(feature = "hyper")]
pub mod hyper;
mod parsed;
pub mod security;
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
    CloseStatus, Config, Connection, Event, Message, MessageKind, Outgoing, Role, State,
};
pub use error::{Error, ProtocolError, SendError};
pub use extensions::Extensions;
pub use parsed::Parsed;
pub use stream_error::StreamError;
pub use tls_error::TlsError;
pub use utf8::Utf8Bytes;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
