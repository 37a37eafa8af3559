//! The HTTP/1.1 Upgrade opening handshake of RFC 6455 §4, without I/O.
//!
//! Both sides work on byte buffers: feed whatever has been read so far to a
//! parser; it answers [`Parsed::Partial`] until the head is complete, then
//! [`Parsed::Complete`] with the number of bytes it consumed. Bytes after that
//! point already belong to the WebSocket connection (a client may pipeline
//! its first frames). Buffers are bounded by [`Limits`].
//!
//! * Server: [`parse_request`] checks every rule of RFC 6455 §4.2.1 and gives a
//!   [`Request`]; [`Request::accept`] writes the `101 Switching Protocols`
//!   answer, and [`Error::response`] or [`reject`] a refusal.
//! * Client: [`ClientRequest`] parses a `ws://` / `wss://` URL and writes the
//!   request; [`ClientRequest::parse_response`] checks the answer
//!   (RFC 6455 §4.1) and gives a [`Response`].
//!
//! # Server
//!
//! ```
//! use rfc6455::handshake::{parse_request, AcceptOptions, Limits, Parsed};
//!
//! let bytes = b"GET /chat HTTP/1.1\r\n\
//!     Host: server.example.com\r\n\
//!     Upgrade: websocket\r\n\
//!     Connection: Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Protocol: chat, superchat\r\n\
//!     Sec-WebSocket-Version: 13\r\n\r\n";
//!
//! let (request, consumed) = match parse_request(bytes, &Limits::default()) {
//!     Ok(Parsed::Complete(request, consumed)) => (request, consumed),
//!     Ok(Parsed::Partial) => unreachable!("read more bytes and try again"),
//!     // Write the refusal back, then close the connection.
//!     Err(e) => panic!("would send {:?}", e.response()),
//! };
//! assert_eq!(consumed, bytes.len());
//! assert_eq!(request.path(), "/chat");
//! assert_eq!(request.protocols(), ["chat", "superchat"]);
//!
//! let response = request
//!     .accept(&AcceptOptions::default().protocol("chat"))
//!     .unwrap();
//! let text = String::from_utf8(response).unwrap();
//! assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
//! assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
//! assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));
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
mod error;
mod extensions;
mod headers;
mod refusal;
mod server;

pub use client::{ClientRequest, Response};
pub use error::{AcceptError, Error, Rejection, UrlError};
pub use extensions::{format_extensions, parse_extensions, ExtensionOffer, ExtensionParseError};
pub use headers::Header;
pub use refusal::Refusal;
pub use server::{parse_request, reject, AcceptOptions, Request};

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

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
    /// Largest head accepted, in bytes (for a client reading a refusal: head
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

/// Decodes a `Sec-WebSocket-Protocol` list, checking each element is a token.
fn protocol_list(list: &[Header]) -> Result<Vec<String>, Error> {
    headers::list_elements(list, "Sec-WebSocket-Protocol")
        .map(|p| match std::str::from_utf8(p) {
            Ok(s) if headers::is_token(p) => Ok(s.to_owned()),
            _ => Err(Error::InvalidProtocol {
                value: String::from_utf8_lossy(p).into_owned(),
            }),
        })
        .collect()
}

/// Decodes every `Sec-WebSocket-Extensions` field into one list of offers;
/// repeated fields are equivalent to one joined with commas.
fn extension_list(list: &[Header]) -> Result<Vec<ExtensionOffer>, Error> {
    let mut all = Vec::new();
    for value in headers::find_all(list, "Sec-WebSocket-Extensions") {
        let text = std::str::from_utf8(value).map_err(|e| {
            Error::InvalidExtensions(ExtensionParseError::UnexpectedChar {
                position: e.valid_up_to(),
                found: char::REPLACEMENT_CHARACTER,
            })
        })?;
        all.extend(parse_extensions(text).map_err(Error::InvalidExtensions)?);
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
