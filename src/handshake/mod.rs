//! The opening handshake (RFC 6455 §4, and RFC 8441 over HTTP/2), without
//! I/O.
//!
//! Two state machines in the shape of [`Connection`](crate::Connection)
//! make every decision, so the blocking and tokio adapters only move bytes
//! and time:
//!
//! * [`ServerHandshake`]: HTTP/1.1 bytes in, a validated [`Request`] out for
//!   your decision ([`accept`](ServerHandshake::accept) with
//!   [`AcceptOptions`], or [`refuse`](ServerHandshake::refuse) with a
//!   [`Refusal`]), the answer's bytes out, a `Connection` running exactly
//!   the extensions agreed. Every status is chosen here: 400, 426, 431, 408
//!   at the deadline (a timer, like the connection's), 500.
//! * [`ClientHandshake`]: the request's bytes out, the answer in, checked
//!   against exactly what was sent, a `Connection` (or the server's
//!   rejection, typed).
//!
//! A head another HTTP stack parsed (hyper, axum, h2: an HTTP/1.1 Upgrade
//! or an HTTP/2 extended CONNECT) goes through the same rules with
//! `Request::from_http` and `Accepted::to_http` (feature `http`).
//!
//! Below the machines, the parsers work on byte buffers: [`parse_request`]
//! and [`ClientRequest::parse_response`] answer [`Parsed::Partial`] until
//! the head is complete, then [`Parsed::Complete`] with the number of bytes
//! consumed. Bytes after that point already belong to the WebSocket
//! connection (a client may pipeline its first frames). Buffers are bounded
//! by [`Limits`].
//!
//! # Errors
//!
//! One [`Error`] for every handshake call, split by blame in the manner of
//! rustls's `Error`: its variants say whose fault it was, and a sub-enum
//! per party holds one variant per rule broken.
//!
//! - [`RequestError`] (in [`Error::Request`]): the request a server
//!   received breaks a rule. Only these have an HTTP status
//!   ([`RequestError::status`]: 400, 426 or 431), and the server has sent
//!   that refusal ([`RequestError::response`]).
//! - [`ResponseError`] (in [`Error::Response`]): the answer a client
//!   received breaks a rule. A client answers nothing; it closes.
//! - [`BuildError`] (in [`Error::Build`]): local input is invalid: a URL,
//!   header, subprotocol or offer given to [`ClientRequest`], or
//!   [`AcceptOptions`] a server cannot answer with (it sent 500).
//! - Outcomes that break no rule: [`Error::Refused`] (the server's own
//!   decision, sent), [`Error::Rejected`] (a non-101 answer a client
//!   received, kept whole as a [`Rejection`]), [`Error::Timeout`],
//!   [`Error::ClosedDuringHandshake`], [`Error::UpgradeUnavailable`].
//!
//! One type rather than three, because one call can fail in several of
//! these ways (a client's `connect` builds, sends and reads) and `?` should
//! work across them; the sub-enums keep each party's checks apart, so a
//! response check is never matched as a request check and no client error
//! carries a made-up status. Where only one party can be at fault, the
//! call returns its sub-enum directly: the server's parser
//! ([`parse_request`]) a [`RequestError`], the builders of
//! [`ClientRequest`] a [`BuildError`]; `?` turns either into an [`Error`].
//!
//! # Server
//!
//! ```
//! use std::time::Instant;
//! use rfc6455::handshake::{AcceptOptions, Refusal, ServerAction, ServerHandshake};
//! use rfc6455::Config;
//!
//! let mut hs = ServerHandshake::new(Config::default(), Instant::now());
//! hs.recv(b"GET /chat HTTP/1.1\r\n\
//!     Host: server.example.com\r\n\
//!     Upgrade: websocket\r\n\
//!     Connection: Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Origin: https://example.com\r\n\
//!     Sec-WebSocket-Protocol: chat, superchat\r\n\
//!     Sec-WebSocket-Version: 13\r\n\r\n");
//! assert_eq!(hs.poll_action(), ServerAction::Decide);
//! hs.decide(|request| {
//!     if request.origin() != Some("https://example.com") {
//!         return Err(Refusal::new(403));
//!     }
//!     Ok(AcceptOptions::default().protocol("chat"))
//! });
//! assert_eq!(hs.poll_action(), ServerAction::Write);
//! let text = String::from_utf8(hs.transmit().to_vec()).unwrap();
//! assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
//! assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
//! assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));
//! # let n = hs.transmit().len();
//! # hs.advance(n);
//! # assert_eq!(hs.poll_action(), ServerAction::Done);
//! # hs.finish()?;
//! # Ok::<(), rfc6455::handshake::Error>(())
//! ```
//!
//! # Client
//!
//! ```
//! use rfc6455::handshake::{ClientRequest, Limits, Parsed};
//!
//! let request = ClientRequest::new("wss://example.com/socket?room=1")?
//!     .protocol("chat")?;
//! assert_eq!((request.host(), request.port(), request.is_tls()), ("example.com", 443, true));
//! let bytes = request.encode(); // write these to the (TLS) stream
//! assert!(bytes.starts_with(b"GET /socket?room=1 HTTP/1.1\r\nHost: example.com\r\n"));
//!
//! // ... then feed what the server answers:
//! let answer = format!(
//!     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
//!      Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\
//!      Sec-WebSocket-Protocol: chat\r\n\r\n",
//!     rfc6455::handshake::accept_key(request.key().as_bytes()),
//! );
//! match request.parse_response(answer.as_bytes(), &Limits::default())? {
//!     Parsed::Complete(response, consumed) => {
//!         assert_eq!(consumed, answer.len());
//!         assert_eq!(response.protocol(), Some("chat"));
//!     }
//!     Parsed::Partial => unreachable!("read more bytes and try again"),
//! }
//! # Ok::<(), rfc6455::handshake::Error>(())
//! ```

mod client;
mod client_handshake;
mod error;
mod extensions;
mod headers;
#[cfg(feature = "http")]
mod http;
mod refusal;
mod server;
mod server_handshake;
mod target;

pub use client::{ClientRequest, Response};
#[cfg(feature = "h2")]
pub(crate) use client_handshake::prepare as prepare_client_request;
pub use client_handshake::{ClientAction, ClientHandshake};
pub use error::{BuildError, Error, Rejection, RequestError, ResponseError, UrlError};
pub use extensions::{format_extensions, parse_extensions, ExtensionOffer, ExtensionParseError};
pub use headers::Header;
pub use refusal::Refusal;
pub use server::{parse_request, AcceptOptions, Accepted, HttpVersion, Request};
pub use server_handshake::{ServerAction, ServerHandshake, REFUSAL_GRACE};

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

/// What an adapter does with either handshake machine between decisions:
/// move bytes and time. Lets one read-or-write step serve both.
pub(crate) trait Transfer {
    fn poll_timeout(&self) -> Option<std::time::Instant>;
    fn transmit(&self) -> &[u8];
    fn advance(&mut self, n: usize);
    fn recv(&mut self, data: &[u8]);
    fn recv_eof(&mut self);
    fn handle_timeout(&mut self, now: std::time::Instant);
}

macro_rules! transfer_by_inherent_methods {
    ($machine:ty) => {
        impl Transfer for $machine {
            fn poll_timeout(&self) -> Option<std::time::Instant> {
                <$machine>::poll_timeout(self)
            }
            fn transmit(&self) -> &[u8] {
                <$machine>::transmit(self)
            }
            fn advance(&mut self, n: usize) {
                <$machine>::advance(self, n)
            }
            fn recv(&mut self, data: &[u8]) {
                <$machine>::recv(self, data)
            }
            fn recv_eof(&mut self) {
                <$machine>::recv_eof(self)
            }
            fn handle_timeout(&mut self, now: std::time::Instant) {
                <$machine>::handle_timeout(self, now)
            }
        }
    };
}
transfer_by_inherent_methods!(ServerHandshake);
transfer_by_inherent_methods!(ClientHandshake);

/// The GUID appended to the key before hashing (RFC 6455 §1.3, §4.2.2).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`:
/// `base64(SHA-1(key ++ GUID))` (RFC 6455 §4.2.2 item 5.4).
///
/// ```
/// assert_eq!(
///     rfc6455::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Bounds on what the parsers buffer and inspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest head accepted, in bytes (for a client reading a rejection: head
    /// plus body). Default 8192.
    pub max_size: usize,
    /// Most header fields accepted. Default 64.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: 8192,
            max_headers: 64,
        }
    }
}

pub use crate::Parsed;

/// Header slots for httparse kept on the stack; more are heap-allocated only
/// when [`Limits::max_headers`] asks for more.
const STACK_HEADERS: usize = 128;

/// Runs `parse` on header slots sized by `limits.max_headers`.
///
/// The heap fallback is additionally capped by what `max_size` bytes could
/// hold (a field line is at least 3 bytes, `a:\n`), so an absurd
/// `max_headers` cannot make us allocate without bound.
fn with_header_slots<'b, R>(
    limits: &Limits,
    parse: impl FnOnce(&mut [httparse::Header<'b>]) -> R,
) -> R {
    if limits.max_headers <= STACK_HEADERS {
        let mut slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
        parse(&mut slots[..limits.max_headers])
    } else {
        let n = limits.max_headers.min(limits.max_size / 3 + 1);
        let mut slots = vec![httparse::EMPTY_HEADER; n];
        parse(&mut slots)
    }
}

/// Whether the comma-list header `name` (possibly repeated) contains `token`,
/// ASCII case-insensitively: `Connection: keep-alive, Upgrade` contains
/// `upgrade`.
fn has_token(headers: &[Header], name: &str, token: &str) -> bool {
    headers::list_elements(headers, name).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// Decodes a `Sec-WebSocket-Protocol` list, checking each element is a
/// token; the error is the first element that is not (lossily decoded).
fn protocol_list(list: &[Header]) -> Result<Vec<String>, String> {
    headers::list_elements(list, "Sec-WebSocket-Protocol")
        .map(|p| match std::str::from_utf8(p) {
            Ok(s) if headers::is_token(p) => Ok(s.to_owned()),
            _ => Err(String::from_utf8_lossy(p).into_owned()),
        })
        .collect()
}

/// Decodes every `Sec-WebSocket-Extensions` field into one list of offers;
/// repeated fields are equivalent to one joined with commas.
fn extension_list(list: &[Header]) -> Result<Vec<ExtensionOffer>, ExtensionParseError> {
    let mut all = Vec::new();
    for value in headers::find_all(list, "Sec-WebSocket-Extensions") {
        let text = std::str::from_utf8(value).map_err(|e| ExtensionParseError::UnexpectedChar {
            position: e.valid_up_to(),
            found: char::REPLACEMENT_CHARACTER,
        })?;
        all.extend(parse_extensions(text)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_sample_accept_key() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn default_limits() {
        let l = Limits::default();
        assert_eq!((l.max_size, l.max_headers), (8192, 64));
    }

    #[test]
    fn header_slots_are_bounded() {
        let n = with_header_slots(&Limits::default(), |s| s.len());
        assert_eq!(n, 64);
        let huge = Limits {
            max_size: 300,
            max_headers: usize::MAX,
        };
        assert_eq!(with_header_slots(&huge, |s| s.len()), 101);
        let big = Limits {
            max_size: 1 << 20,
            max_headers: 500,
        };
        assert_eq!(with_header_slots(&big, |s| s.len()), 500);
    }

    #[test]
    fn token_matching_is_case_insensitive_across_repeats() {
        let hs = vec![
            Header {
                name: "connection".into(),
                value: b"keep-alive".to_vec(),
            },
            Header {
                name: "CONNECTION".into(),
                value: b"foo, UpGrade".to_vec(),
            },
        ];
        assert!(has_token(&hs, "Connection", "upgrade"));
        assert!(!has_token(&hs, "Connection", "close"));
        assert!(!has_token(&hs, "Upgrade", "websocket"));
    }
}

#[cfg(test)]
mod proptests;
