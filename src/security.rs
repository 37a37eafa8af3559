//! # Security and limits
//!
//! A server on the open internet meets peers that are broken or hostile.
//! This chapter lists every bound the crate applies, its default, what it
//! protects against and how to change it. Every limit fails with a typed
//! error naming the rule and, once the WebSocket is open, a close frame
//! with the matching code; before that, an HTTP status.
//!
//! The numbers below are the defaults of [`Config`](crate::Config) and
//! [`Limits`](crate::handshake::Limits); `tests/hostile.rs` attacks each
//! one over real sockets, against both adapters.
//!
//! ## Opening handshake
//!
//! | Setting | Default | Protects against | On violation |
//! |---|---|---|---|
//! | [`Config::handshake_timeout`](crate::Config::handshake_timeout) | 10 s | slowloris: a request trickled a byte at a time, or a silent connection, holding a slot | HTTP 408, [`StreamError::HandshakeTimeout`](crate::StreamError::HandshakeTimeout) |
//! | [`Limits::max_size`](crate::handshake::Limits::max_size) (in [`Config::handshake_limits`](crate::Config::handshake_limits)) | 8 KiB | an endless or oversized head | HTTP 431, [`handshake::RequestError::TooLarge`](crate::handshake::RequestError::TooLarge) |
//! | [`Limits::max_headers`](crate::handshake::Limits::max_headers) | 64 fields | a header flood that costs parse time | HTTP 431, [`handshake::RequestError::TooManyHeaders`](crate::handshake::RequestError::TooManyHeaders) |
//! | [`REFUSAL_GRACE`](crate::handshake::REFUSAL_GRACE) (fixed) | 500 ms past the deadline | a client that stops reading while a refusal (400, 403, 408, 426, 431, 500) is written to it | the connection is dropped |
//! | request framing (no setting) | an upgrade may not announce a body | request smuggling: a body a proxy reads as HTTP but we would read as frames after the switch (RFC 9112 §6.3, RFC 9110 §7.8) | HTTP 400, [`handshake::RequestError::HasBody`](crate::handshake::RequestError::HasBody) |
//!
//! The deadline covers the whole handshake, not each read: bytes arriving
//! slowly do not extend it; it is a timer of
//! [`ServerHandshake`](crate::handshake::ServerHandshake), so both adapters
//! apply it the same way, the answer to the accept hook's decision
//! included. Behind axum or hyper, the HTTP server's own timeouts apply to
//! the request head instead. The parser never looks past `max_size` bytes,
//! so the buffer holding the head is bounded too. Origin checks are yours
//! to make in the `accept_with` hook (browsers send `Origin`; other clients
//! can send anything), with [`Refusal`](crate::handshake::Refusal) to
//! answer 403.
//!
//! ## Frames and messages
//!
//! | Setting | Default | Protects against | On violation |
//! |---|---|---|---|
//! | [`Config::max_frame_size`](crate::Config::max_frame_size) | 16 MiB | a header announcing a huge payload | close 1009, checked on the header, before any payload is buffered |
//! | [`Config::max_message_size`](crate::Config::max_message_size) | 64 MiB | a message growing without end over many fragments; a compressed message inflating without end (a "zip bomb") | close 1009, checked as fragments arrive and as the message inflates |
//! | [`Config::max_empty_fragments`](crate::Config::max_empty_fragments) | 64 per message | endless empty continuation frames: each costs the peer 6 bytes and us a little CPU, never growing the message, so no size limit ends them | close 1008 |
//!
//! Rules of RFC 6455 that need no setting:
//!
//! - A 64-bit length with its top bit set, reserved bits without a
//!   negotiated extension, reserved opcodes, fragmented or oversized
//!   (over 125 bytes) control frames, an unmasked frame from a client or a
//!   masked one from a server, a continuation with no message in progress:
//!   close 1002.
//! - Text that is not UTF-8 fails as soon as the first invalid byte
//!   arrives, even in the middle of a frame, not when the message ends:
//!   close 1007. So does a close reason that is not UTF-8, and compressed
//!   data that does not inflate.
//! - Invalid close codes (0–999, 1004–1006, 1015, 1016–2999) in a peer's
//!   close frame: close 1002.
//!
//! A connection holds at most one frame header, the message being
//! assembled (bounded by `max_message_size`) and the bytes of one read:
//! about `max_message_size + max_frame_size` in the worst case. Lower both
//! for a server with many connections and small messages:
//!
//! ```
//! use rfc6455::Config;
//!
//! // A chat server: no message needs more than 64 KiB.
//! let config = Config::default()
//!     .max_frame_size(64 * 1024)
//!     .max_message_size(64 * 1024);
//! # assert_eq!(config.max_message_size, 65536);
//! ```
//!
//! After a large message the receive buffer is given back once it is
//! empty (anything above 64 KiB), so one burst does not pin memory for the
//! rest of a long-lived connection.
//!
//! ## Sending, backpressure and floods
//!
//! | Setting | Default | Protects against | On violation |
//! |---|---|---|---|
//! | [`Config::send_high_water`](crate::Config::send_high_water) | 64 KiB | a peer that does not read while we send (a slow consumer): the async adapter's `feed` and `Sink::poll_ready` wait while more is queued | waits; never drops data |
//! | [`Config::max_send_queue`](crate::Config::max_send_queue) | none | the same, as a hard cap for code that must not wait (a broadcast loop) | [`SendError::QueueFull`](crate::SendError::QueueFull), nothing queued |
//! | pong queue bound (fixed) | 64 KiB | a ping flood from a peer that does not read our pongs | past it only the newest pong is kept (RFC 6455 §5.5.3 allows answering the latest ping only) |
//!
//! Nothing is ever dropped silently: a send either queues the whole
//! message, waits, or returns an error saying why. To drop a client that
//! cannot keep up, bound the wait and close it yourself, as
//! `examples/chat` does:
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn demo(
//! #     mut ws: rfc6455::tokio::WebSocketStream<tokio::net::TcpStream>,
//! #     update: bytes::Bytes,
//! # ) -> Result<(), rfc6455::StreamError> {
//! use std::time::Duration;
//! use rfc6455::{CloseCode, Message};
//!
//! let patience = Duration::from_secs(2);
//! if tokio::time::timeout(patience, ws.feed(Message::Binary(update))).await.is_err() {
//!     ws.close(CloseCode::POLICY_VIOLATION, "too slow").await?;
//! }
//! # Ok(()) }
//! ```
//!
//! With the blocking adapter, set a write timeout on the stream
//! ([`Transport::set_write_timeout`](crate::blocking::Transport::set_write_timeout)
//! through `get_mut()`): a send that times out returns the I/O error and
//! keeps the unwritten bytes queued.
//!
//! ## Timers
//!
//! | Setting | Default | Protects against | On violation |
//! |---|---|---|---|
//! | [`Config::close_timeout`](crate::Config::close_timeout) | 5 s | a peer that never answers our close frame, or never reads it | the transport is closed; [`Error::CloseTimeout`](crate::Error::CloseTimeout) (1006, nothing more sent) |
//! | [`Config::ping_interval`](crate::Config::ping_interval) / [`Config::pong_timeout`](crate::Config::pong_timeout) | off / 10 s | a half-open TCP connection: the peer's host vanished and no FIN or RST will ever come | close 1011, [`Error::KeepaliveTimeout`](crate::Error::KeepaliveTimeout) |
//! | linger after a failure: [`Config::close_timeout`](crate::Config::close_timeout) and [`Config::max_linger_bytes`](crate::Config::max_linger_bytes) | 5 s and 64 MiB | after failing a connection (1002, 1007, 1008, 1009, 1011) we read and discard until the peer closes, so that our Close is not lost to a reset (RFC 6455 §7.1.1); these bounds stop a peer from keeping us reading forever | the transport is closed (the error was already reported with its close code) |
//!
//! Keepalive is off by default because the right interval depends on the
//! network in between (proxies and NATs drop idle flows after 30 s to a
//! few minutes). A public server should turn it on:
//!
//! ```
//! use std::time::Duration;
//! use rfc6455::Config;
//!
//! let config = Config::default().keepalive(Duration::from_secs(20), Duration::from_secs(10));
//! # assert_eq!(config.ping_interval, Some(Duration::from_secs(20)));
//! ```
//!
//! Any byte from the peer counts as a sign of life, not only a pong, so a
//! busy peer is never pinged needlessly.
//!
//! ## Compression
//!
//! permessage-deflate (feature `deflate`) is off unless configured. A
//! compressed message is bounded by `max_message_size` as it inflates, in
//! steps, so a small frame that would inflate to gigabytes fails with 1009
//! after at most `max_message_size` bytes of output.
//!
//! zlib's state is large (about 420 KiB for a connection that compresses
//! and inflates with context takeover). By default `DeflateConfig` keeps no
//! context between messages either way (it announces
//! `server_no_context_takeover` and `client_no_context_takeover` whatever
//! the client offered): messages are compressed by one compressor per
//! thread and inflated by a decompressor borrowed from a per-thread pool
//! while they arrive, so a connection holds no zlib state between messages
//! (measured: 2.2 KiB in all after an echo, against 2.5 KiB uncompressed).
//! Turning context takeover on buys ratio on small messages for about
//! 467 KiB per connection; the trade, measured, is in `DeflateConfig`'s
//! docs.
//!
//! ## What is left to the application, and TLS
//!
//! - The number of connections: that is the listener's business (accept
//!   rate, file descriptor limits).
//! - The rate of small, valid messages: a peer may send as many as the
//!   network carries. Rate-limit per connection in the application if it
//!   matters.
//! - TLS itself: with the `tls` feature, rustls applies its own limits to
//!   the TLS records. The TLS handshake shares
//!   [`Config::handshake_timeout`](crate::Config::handshake_timeout): in the
//!   tokio adapter it gets its own deadline before the WebSocket handshake
//!   starts; in the blocking adapter it runs inside the WebSocket
//!   handshake's reads and writes, under the same deadline.
//!
//! ## Behind axum or hyper, and over HTTP/2
//!
//! - The request head is parsed by hyper, so hyper's limits and timeouts
//!   apply to it, not [`Config::handshake_limits`](crate::Config::handshake_limits)
//!   or [`Config::handshake_timeout`](crate::Config::handshake_timeout):
//!   `axum::serve` sets no header-read timeout; hyper-util's builder has
//!   `http1().header_read_timeout(..)`. Everything after the upgrade (frame,
//!   message and linger limits, timers) is ours, as on raw TCP.
//! - Every refusal says `Connection: close`: after a refused upgrade,
//!   bytes the client sent on (frames, or a request a proxy never saw)
//!   are not served as a next request.
//! - Limits apply per WebSocket, and over HTTP/2 one TCP connection
//!   carries as many WebSockets as the server allows concurrent streams
//!   (hyper: 200 by default). With the default 64 MiB messages, one
//!   client connection could hold far more memory than one HTTP/1.1
//!   connection can: lower [`Config::max_message_size`](crate::Config::max_message_size)
//!   for public HTTP/2 endpoints, or hyper's
//!   `http2().max_concurrent_streams(..)`.
