//! Handshake errors, split by blame: see the [module docs](crate::handshake#errors).

use std::fmt;

use super::extensions::ExtensionParseError;
use super::headers::Header;

/// Why an opening handshake failed, by blame: see the [module
/// docs](crate::handshake#errors).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Server: the request received breaks a rule; the refusal with
    /// [`RequestError::status`] was sent.
    Request(RequestError),
    /// Client: the server's `101` (or HTTP/2 `200`) breaks a rule.
    Response(ResponseError),
    /// Local input is invalid (see [`BuildError`]). A client sent nothing;
    /// a server that could not write its answer sent 500.
    Build(BuildError),
    /// Server: the application's decision refused the request; the
    /// refusal with this status was sent.
    Refused {
        /// The HTTP status sent.
        status: u16,
    },
    /// Client: the server answered with a status other than 101 (or, over
    /// HTTP/2, other than 2xx): its rejection, kept whole.
    Rejected(Box<Rejection>),
    /// No complete request (or, for a client, response) arrived within
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout); a
    /// server answers 408.
    Timeout,
    /// The peer closed the connection before the handshake ended.
    ClosedDuringHandshake,
    /// The HTTP stack gave no way to take over the connection (hyper: serve
    /// with upgrades, and enable extended CONNECT for HTTP/2); answered 500.
    UpgradeUnavailable,
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Error {
        Error::Request(e)
    }
}

impl From<ResponseError> for Error {
    fn from(e: ResponseError) -> Error {
        Error::Response(e)
    }
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Error {
        Error::Build(e)
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Error {
        Error::Build(BuildError::InvalidUrl(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(e) => e.fmt(f),
            Self::Response(e) => e.fmt(f),
            Self::Build(e) => e.fmt(f),
            Self::Refused { status } => write!(f, "the request was refused with HTTP {status}"),
            Self::Rejected(r) => {
                write!(
                    f,
                    "the server rejected the upgrade with `{} {}` (an accepting answer is 101 over \
                     HTTP/1.1, RFC 6455 §4.1, or 2xx over HTTP/2, RFC 8441 §5)",
                    r.status, r.reason
                )?;
                if r.status == 405 {
                    f.write_str(
                        "; does the route take CONNECT, which HTTP/2 uses (axum: `any(..)`, \
                         not `get(..)`)?",
                    )?;
                }
                Ok(())
            }
            Self::Timeout => {
                f.write_str("the opening handshake did not complete within handshake_timeout")
            }
            Self::ClosedDuringHandshake => {
                f.write_str("the peer closed the connection during the opening handshake")
            }
            Self::UpgradeUnavailable => f.write_str(
                "the HTTP server offers no upgrade of this request (hyper: serve connections \
                 with upgrades, and enable extended CONNECT for HTTP/2)",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Request(e) => e.source(),
            Self::Response(e) => e.source(),
            Self::Build(e) => e.source(),
            _ => None,
        }
    }
}

/// A rule of RFC 6455 (or HTTP, or RFC 8441) that a received upgrade
/// request breaks. Each has the status it is refused with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The buffered bytes exceed [`Limits::max_size`](super::Limits) and the
    /// header block has still not ended: 431.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The head has more header fields than
    /// [`Limits::max_headers`](super::Limits): 431.
    TooManyHeaders {
        /// The limit in fields.
        limit: usize,
    },
    /// The bytes are not an HTTP/1.x request.
    Malformed(httparse::Error),
    /// The method is not `GET`.
    MethodNotGet {
        /// The method received.
        method: String,
    },
    /// The request is HTTP/1.0.
    HttpVersionTooOld,
    /// The request came over HTTP/3 (from an HTTP stack that speaks it):
    /// only HTTP/1.1 Upgrade and HTTP/2 extended CONNECT are supported
    /// (RFC 9220's HTTP/3 bootstrapping is not).
    Http3NotSupported,
    /// No `Host` header.
    MissingHost,
    /// The `Host` header is empty or not printable ASCII.
    InvalidHost,
    /// The `Origin` header is not printable ASCII, which no browser sends
    /// (RFC 6454 §7); refused rather than reported as absent, so that an
    /// "allow requests without Origin" check cannot be slipped past.
    InvalidOrigin,
    /// A header that must appear at most once appears several times.
    DuplicateHeader {
        /// Which header.
        name: &'static str,
    },
    /// No `Upgrade` header.
    MissingUpgrade,
    /// The `Upgrade` header does not list `websocket`.
    InvalidUpgrade {
        /// The value received (lossily decoded).
        value: String,
    },
    /// The `Connection` header is missing or lacks `Upgrade`.
    MissingConnectionUpgrade,
    /// No `Sec-WebSocket-Key` header.
    MissingKey,
    /// `Sec-WebSocket-Key` is not the base64 encoding of 16 bytes.
    InvalidKey,
    /// No `Sec-WebSocket-Version` header.
    MissingVersion,
    /// `Sec-WebSocket-Version` is not 13: 426, with
    /// `Sec-WebSocket-Version: 13`.
    UnsupportedVersion {
        /// The version the client offered (lossily decoded).
        offered: String,
    },
    /// A `Sec-WebSocket-Protocol` element is not a token.
    InvalidProtocol {
        /// The offending element (lossily decoded).
        value: String,
    },
    /// The `Sec-WebSocket-Extensions` value does not follow RFC 6455 §9.1.
    InvalidExtensions(ExtensionParseError),
    /// The request-target is neither origin form (`/path?query`) nor an
    /// absolute `http(s)://` or `ws(s)://` URI (RFC 9112 §3.2).
    InvalidTarget {
        /// The target received.
        target: String,
    },
    /// The upgrade request announces a body (`Transfer-Encoding`, or a
    /// `Content-Length` other than 0); the protocol would switch before the
    /// request ends (RFC 9110 §7.8, RFC 9112 §6.3).
    HasBody,
    /// An HTTP/2 request that is not a `CONNECT` (RFC 8441 §4).
    MethodNotConnect {
        /// The method received.
        method: String,
    },
    /// An HTTP/2 `CONNECT` whose `:protocol` is missing or not `websocket`
    /// (RFC 8441 §4).
    InvalidProtocolPseudoHeader {
        /// The `:protocol` received, if any.
        value: Option<String>,
    },
}

impl RequestError {
    /// The HTTP status the request is refused with: 431 when the head is
    /// too large or has too many fields (RFC 6585 §5), 426 for an
    /// unsupported `Sec-WebSocket-Version` (RFC 6455 §4.2.2 item 4), 400
    /// otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } | Self::TooManyHeaders { .. } => 431,
            Self::UnsupportedVersion { .. } => 426,
            _ => 400,
        }
    }

    /// The complete HTTP refusal to write back before closing the
    /// connection: status line from [`RequestError::status`],
    /// `Connection: close`, `Content-Length`, and this error's message as a
    /// `text/plain` body. A 426 also carries `Sec-WebSocket-Version: 13`
    /// (RFC 6455 §4.4).
    pub fn response(&self) -> Vec<u8> {
        self.refusal().encode()
    }

    /// The refusal [`response`](Self::response) encodes.
    pub(crate) fn refusal(&self) -> super::Refusal {
        let refusal = super::Refusal::new(self.status())
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(format!("{self}\n"));
        if self.status() == 426 {
            refusal.header("Sec-WebSocket-Version", "13")
        } else {
            refusal
        }
    }
}

/// RFC section of the at-most-once rule for each header we enforce it on.
fn duplicate_rule(name: &str) -> &'static str {
    match name {
        "Sec-WebSocket-Key" => "RFC 6455 §11.3.1",
        "Sec-WebSocket-Version" => "RFC 6455 §11.3.5",
        "Sec-WebSocket-Accept" => "RFC 6455 §11.3.3",
        _ => "RFC 7230 §5.4",
    }
}

fn too_many_headers(f: &mut fmt::Formatter<'_>, limit: usize) -> fmt::Result {
    write!(
        f,
        "the head has more than {limit} header fields (RFC 6585 §5)"
    )
}

fn duplicate_header(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    write!(
        f,
        "the {name} header appears more than once ({})",
        duplicate_rule(name)
    )
}

fn invalid_protocol(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    write!(
        f,
        "subprotocol `{value}` is not a token (RFC 6455 §4.1 item 10)"
    )
}

fn invalid_extensions(f: &mut fmt::Formatter<'_>, e: &ExtensionParseError) -> fmt::Result {
    write!(
        f,
        "the Sec-WebSocket-Extensions value is malformed: {e} (RFC 6455 §9.1)"
    )
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { limit } => write!(
                f,
                "the request head exceeds {limit} bytes (RFC 6585 §5)"
            ),
            Self::TooManyHeaders { limit } => too_many_headers(f, *limit),
            Self::Malformed(e) => {
                write!(f, "malformed HTTP request: {e} (RFC 7230 §3)")
            }
            Self::MethodNotGet { method } => write!(
                f,
                "the method is `{method}` but the handshake must be a GET (RFC 6455 §4.2.1 item 1)"
            ),
            Self::HttpVersionTooOld => f.write_str(
                "the handshake must be HTTP/1.1 or higher (RFC 6455 §4.2.1 item 1)",
            ),
            Self::Http3NotSupported => f.write_str(
                "WebSockets over HTTP/3 (RFC 9220) are not supported: use HTTP/1.1 or HTTP/2",
            ),
            Self::MissingHost => {
                f.write_str("the Host header is missing (RFC 6455 §4.2.1 item 2)")
            }
            Self::InvalidHost => f.write_str(
                "the Host header is empty or not printable ASCII (RFC 6455 §4.2.1 item 2)",
            ),
            Self::InvalidOrigin => f.write_str(
                "the Origin header is not printable ASCII (RFC 6454 §7)",
            ),
            Self::DuplicateHeader { name } => duplicate_header(f, name),
            Self::MissingUpgrade => {
                f.write_str("the Upgrade header is missing (RFC 6455 §4.2.1 item 3)")
            }
            Self::InvalidUpgrade { value } => write!(
                f,
                "the Upgrade header `{value}` does not contain `websocket` (RFC 6455 §4.2.1 item 3)"
            ),
            Self::MissingConnectionUpgrade => f.write_str(
                "the Connection header is missing or lacks the `Upgrade` token (RFC 6455 §4.2.1 item 4)",
            ),
            Self::MissingKey => f.write_str(
                "the Sec-WebSocket-Key header is missing (RFC 6455 §4.2.1 item 5)",
            ),
            Self::InvalidKey => f.write_str(
                "the Sec-WebSocket-Key header is not the base64 encoding of 16 bytes (RFC 6455 §4.2.1 item 5)",
            ),
            Self::MissingVersion => f.write_str(
                "the Sec-WebSocket-Version header is missing (RFC 6455 §4.2.1 item 6)",
            ),
            Self::UnsupportedVersion { offered } => write!(
                f,
                "Sec-WebSocket-Version `{offered}` is not supported, only 13 is (RFC 6455 §4.2.1 item 6, §4.4)"
            ),
            Self::InvalidProtocol { value } => invalid_protocol(f, value),
            Self::InvalidExtensions(e) => invalid_extensions(f, e),
            Self::InvalidTarget { target } => write!(
                f,
                "request-target `{target}` is neither a path nor an absolute http(s) or ws(s) URI \
                 (RFC 9112 §3.2)"
            ),
            Self::HasBody => f.write_str(
                "the upgrade request announces a body (Transfer-Encoding or a non-zero \
                 Content-Length); the protocol switch happens where the request ends \
                 (RFC 9110 §7.8, RFC 9112 §6.3)",
            ),
            Self::MethodNotConnect { method } => write!(
                f,
                "the method is `{method}` but a WebSocket over HTTP/2 must be an extended CONNECT \
                 (RFC 8441 §4)"
            ),
            Self::InvalidProtocolPseudoHeader { value: None } => f.write_str(
                "the CONNECT has no :protocol pseudo-header, so it is not a WebSocket \
                 (RFC 8441 §4)",
            ),
            Self::InvalidProtocolPseudoHeader { value: Some(v) } => write!(
                f,
                "the CONNECT's :protocol is `{v}`, not `websocket` (RFC 8441 §4)"
            ),
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) => Some(e),
            Self::InvalidExtensions(e) => Some(e),
            _ => None,
        }
    }
}

/// A rule of RFC 6455 (or HTTP, or RFC 8441, or RFC 7692) that the
/// server's accepting answer breaks, checked against what the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The buffered response exceeds [`Limits::max_size`](super::Limits)
    /// before its head (or, for a rejection, its body) is complete.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The head has more header fields than
    /// [`Limits::max_headers`](super::Limits).
    TooManyHeaders {
        /// The limit in fields.
        limit: usize,
    },
    /// The bytes are not an HTTP/1.x response.
    Malformed(httparse::Error),
    /// A rejection's body framing (`Content-Length` or chunked encoding) is
    /// invalid.
    MalformedBody {
        /// What is wrong.
        reason: &'static str,
    },
    /// A header that must appear at most once appears several times.
    DuplicateHeader {
        /// Which header.
        name: &'static str,
    },
    /// No `Upgrade` header in the 101 response.
    MissingUpgrade,
    /// The response's `Upgrade` header is not `websocket`.
    InvalidUpgrade {
        /// The value received (lossily decoded).
        value: String,
    },
    /// The response's `Connection` header is missing or lacks `Upgrade`.
    MissingConnectionUpgrade,
    /// No `Sec-WebSocket-Accept` header in the 101 response.
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match the key sent.
    WrongAccept {
        /// The value received (lossily decoded).
        found: String,
    },
    /// The selected `Sec-WebSocket-Protocol` is not a token.
    InvalidProtocol {
        /// The value received (lossily decoded).
        value: String,
    },
    /// The server selected a subprotocol the client did not offer.
    ProtocolNotOffered {
        /// The subprotocol selected.
        protocol: String,
    },
    /// The server selected more than one subprotocol.
    MultipleProtocols,
    /// The `Sec-WebSocket-Extensions` answer does not follow RFC 6455 §9.1.
    InvalidExtensions(ExtensionParseError),
    /// The server accepted an extension the client did not offer.
    ExtensionNotOffered {
        /// The extension name.
        name: String,
    },
    /// The `101` announces a body (`Transfer-Encoding` or `Content-Length`),
    /// which a 1xx response cannot have (RFC 9110 §15.2).
    HasBody,
    /// The HTTP/2 server did not send `SETTINGS_ENABLE_CONNECT_PROTOCOL`,
    /// so it cannot carry a WebSocket (RFC 8441 §3).
    ExtendedConnectDisabled,
    /// The server's permessage-deflate answer breaks RFC 7692.
    #[cfg(feature = "deflate")]
    Deflate(Box<crate::deflate::NegotiationError>),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { limit } => write!(f, "the response exceeds {limit} bytes"),
            Self::TooManyHeaders { limit } => too_many_headers(f, *limit),
            Self::Malformed(e) => write!(f, "malformed HTTP response: {e} (RFC 7230 §3)"),
            Self::MalformedBody { reason } => {
                write!(f, "malformed response body: {reason} (RFC 7230 §3.3)")
            }
            Self::DuplicateHeader { name } => duplicate_header(f, name),
            Self::MissingUpgrade => f.write_str(
                "the response has no Upgrade header (RFC 6455 §4.1, response check 2)",
            ),
            Self::InvalidUpgrade { value } => write!(
                f,
                "the response's Upgrade header `{value}` is not `websocket` (RFC 6455 §4.1, response check 2)"
            ),
            Self::MissingConnectionUpgrade => f.write_str(
                "the response's Connection header is missing or lacks `Upgrade` (RFC 6455 §4.1, response check 3)",
            ),
            Self::MissingAccept => f.write_str(
                "the response has no Sec-WebSocket-Accept header (RFC 6455 §4.1, response check 4)",
            ),
            Self::WrongAccept { found } => write!(
                f,
                "Sec-WebSocket-Accept `{found}` does not match the key sent (RFC 6455 §4.1, response check 4)"
            ),
            Self::InvalidProtocol { value } => invalid_protocol(f, value),
            Self::ProtocolNotOffered { protocol } => write!(
                f,
                "the server selected subprotocol `{protocol}`, which was not offered (RFC 6455 §4.1, response check 6)"
            ),
            Self::MultipleProtocols => f.write_str(
                "the server selected more than one subprotocol (RFC 6455 §4.2.2 item 5.4, §11.3.4)",
            ),
            Self::InvalidExtensions(e) => invalid_extensions(f, e),
            Self::ExtensionNotOffered { name } => write!(
                f,
                "the server accepted extension `{name}`, which was not offered (RFC 6455 §4.1, response check 5)"
            ),
            Self::HasBody => f.write_str(
                "the 101 response announces a body, which a 1xx response cannot have \
                 (RFC 9110 §15.2)",
            ),
            Self::ExtendedConnectDisabled => f.write_str(
                "the HTTP/2 server did not enable extended CONNECT \
                 (SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 §3; on a hyper-util server: \
                 `builder.http2().enable_connect_protocol()`)",
            ),
            #[cfg(feature = "deflate")]
            Self::Deflate(e) => write!(f, "invalid permessage-deflate answer: {e}"),
        }
    }
}

impl std::error::Error for ResponseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(e) => Some(e),
            Self::InvalidExtensions(e) => Some(e),
            #[cfg(feature = "deflate")]
            Self::Deflate(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Local input the handshake cannot use: given to a client builder
/// ([`ClientRequest`](super::ClientRequest)) or to a server's accept
/// ([`AcceptOptions`](super::AcceptOptions)). Caught before anything
/// invalid is written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The URL is not a valid `ws://` / `wss://` URL.
    InvalidUrl(UrlError),
    /// The URL scheme is neither `ws` nor `wss`.
    UnsupportedScheme {
        /// The scheme found.
        scheme: String,
    },
    /// An extra header has an invalid name or a value with CR, LF or another
    /// control character (which would allow header injection).
    InvalidHeader {
        /// The header name as given.
        name: String,
    },
    /// An extra header would duplicate one the handshake writes itself.
    ReservedHeader {
        /// The header name as given.
        name: String,
    },
    /// A subprotocol to offer is not a token.
    InvalidProtocol {
        /// The subprotocol as given.
        value: String,
    },
    /// The server's chosen subprotocol is not one the client offered (RFC
    /// 6455 §4.2.2 item 5.4).
    ProtocolNotOffered {
        /// The subprotocol chosen.
        protocol: String,
    },
    /// An extension offer does not follow RFC 6455 §9.1.
    InvalidExtensions(ExtensionParseError),
    /// The offer names an extension the [`Config`](crate::Config) does not
    /// enable, so the connection could not run it if agreed.
    ExtensionNotEnabled {
        /// The extension name.
        name: String,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(e) => write!(f, "invalid WebSocket URL: {e} (RFC 6455 §3)"),
            Self::UnsupportedScheme { scheme } => write!(
                f,
                "URL scheme `{scheme}` is not supported, only ws and wss are (RFC 6455 §3)"
            ),
            Self::InvalidHeader { name } => write!(
                f,
                "header `{name}` has an invalid name or a control character in its value (RFC 7230 §3.2)"
            ),
            Self::ReservedHeader { name } => write!(
                f,
                "header `{name}` is written by the handshake itself and cannot be added (RFC 6455 §4.1)"
            ),
            Self::InvalidProtocol { value } => invalid_protocol(f, value),
            Self::ProtocolNotOffered { protocol } => write!(
                f,
                "subprotocol `{protocol}` was not offered by the client (RFC 6455 §4.2.2 item 5.4)"
            ),
            Self::InvalidExtensions(e) => invalid_extensions(f, e),
            Self::ExtensionNotEnabled { name } => write!(
                f,
                "the offer names extension `{name}`, which this endpoint's Config does not enable \
                 (RFC 6455 §9.1); permessage-deflate runs with `Config::deflate`, which also \
                 makes the offer for you"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidUrl(e) => Some(e),
            Self::InvalidExtensions(e) => Some(e),
            _ => None,
        }
    }
}

/// A non-101 answer to a client's handshake, kept whole so the caller can
/// show or act on it (e.g. follow a redirect or read an auth challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status code, e.g. 403.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// All response headers.
    pub headers: Vec<Header>,
    /// The body, de-chunked if it was chunked.
    pub body: Vec<u8>,
}

/// What is wrong with a WebSocket URL (RFC 6455 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// No `scheme://` prefix.
    MissingScheme,
    /// The URL has no host.
    MissingHost,
    /// The host has characters a host name cannot have.
    InvalidHost,
    /// A `[...]` host is not an IPv6 address (zone ids are not supported).
    InvalidIpv6,
    /// The port is not a number in 1..=65535.
    InvalidPort,
    /// The URL has a `#fragment`, which §3 forbids.
    Fragment,
    /// The URL has `user:password@`, which is not supported.
    UserInfo,
    /// A space, control or non-ASCII character (percent-encode it).
    InvalidCharacter,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingScheme => "it has no `ws://` or `wss://` scheme",
            Self::MissingHost => "it has no host",
            Self::InvalidHost => "the host contains characters a host name cannot have",
            Self::InvalidIpv6 => "the bracketed host is not an IPv6 address",
            Self::InvalidPort => "the port is not a number from 1 to 65535",
            Self::Fragment => "fragment identifiers are not allowed",
            Self::UserInfo => "user information (`user@`) is not supported",
            Self::InvalidCharacter => {
                "it contains a space, control or non-ASCII character (percent-encode it)"
            }
        })
    }
}

impl std::error::Error for UrlError {}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_small() {
        // Big payloads are boxed; a sub-enum is a `String` and a tag, and
        // the top type adds its own tag (the adapters' `StreamError` boxes
        // it, so an adapter's `Result` stays small either way).
        assert_eq!(std::mem::size_of::<RequestError>(), 32);
        assert_eq!(std::mem::size_of::<ResponseError>(), 32);
        assert_eq!(std::mem::size_of::<BuildError>(), 32);
        assert!(std::mem::size_of::<Error>() <= 40);
    }

    #[test]
    fn statuses() {
        assert_eq!(RequestError::TooLarge { limit: 1 }.status(), 431);
        assert_eq!(RequestError::TooManyHeaders { limit: 1 }.status(), 431);
        assert_eq!(
            RequestError::UnsupportedVersion {
                offered: "8".into()
            }
            .status(),
            426
        );
        assert_eq!(RequestError::MissingKey.status(), 400);
        assert_eq!(
            RequestError::MethodNotGet {
                method: "POST".into()
            }
            .status(),
            400
        );
    }

    #[test]
    fn display_names_the_rule() {
        let msg = Error::Request(RequestError::MissingKey).to_string();
        assert_eq!(
            msg,
            "the Sec-WebSocket-Key header is missing (RFC 6455 §4.2.1 item 5)"
        );
        let dup = RequestError::DuplicateHeader {
            name: "Sec-WebSocket-Key",
        };
        assert!(dup.to_string().contains("§11.3.1"));
        let dup = ResponseError::DuplicateHeader { name: "Host" };
        assert!(dup.to_string().contains("RFC 7230 §5.4"));
        assert!(Error::from(UrlError::Fragment)
            .to_string()
            .contains("fragment"));
    }

    #[test]
    fn every_variant_displays() {
        let request = [
            RequestError::TooLarge { limit: 1 },
            RequestError::TooManyHeaders { limit: 1 },
            RequestError::Malformed(httparse::Error::Token),
            RequestError::MethodNotGet { method: "P".into() },
            RequestError::HttpVersionTooOld,
            RequestError::Http3NotSupported,
            RequestError::MissingHost,
            RequestError::InvalidHost,
            RequestError::InvalidOrigin,
            RequestError::DuplicateHeader { name: "Host" },
            RequestError::MissingUpgrade,
            RequestError::InvalidUpgrade {
                value: "h2c".into(),
            },
            RequestError::MissingConnectionUpgrade,
            RequestError::MissingKey,
            RequestError::InvalidKey,
            RequestError::MissingVersion,
            RequestError::UnsupportedVersion {
                offered: "8".into(),
            },
            RequestError::InvalidProtocol {
                value: "a b".into(),
            },
            RequestError::InvalidExtensions(ExtensionParseError::Empty),
            RequestError::InvalidTarget { target: "*".into() },
            RequestError::HasBody,
            RequestError::MethodNotConnect {
                method: "GET".into(),
            },
            RequestError::InvalidProtocolPseudoHeader { value: None },
            RequestError::InvalidProtocolPseudoHeader {
                value: Some("x".into()),
            },
        ];
        let response = [
            ResponseError::TooLarge { limit: 1 },
            ResponseError::Malformed(httparse::Error::Status),
            ResponseError::MalformedBody { reason: "x" },
            ResponseError::MissingUpgrade,
            ResponseError::InvalidUpgrade { value: "x".into() },
            ResponseError::MissingConnectionUpgrade,
            ResponseError::MissingAccept,
            ResponseError::WrongAccept { found: "x".into() },
            ResponseError::ProtocolNotOffered {
                protocol: "x".into(),
            },
            ResponseError::MultipleProtocols,
            ResponseError::ExtensionNotOffered { name: "x".into() },
            ResponseError::HasBody,
            ResponseError::ExtendedConnectDisabled,
        ];
        let build = [
            BuildError::InvalidUrl(UrlError::MissingHost),
            BuildError::UnsupportedScheme {
                scheme: "http".into(),
            },
            BuildError::InvalidHeader { name: "X".into() },
            BuildError::ReservedHeader {
                name: "Host".into(),
            },
            BuildError::ProtocolNotOffered {
                protocol: "x".into(),
            },
            BuildError::ExtensionNotEnabled { name: "x".into() },
        ];
        let rules = request
            .into_iter()
            .map(Error::from)
            .chain(response.into_iter().map(Error::from))
            .chain(build.into_iter().map(Error::from));
        // Outcomes rather than broken rules name no RFC.
        let outcomes = [
            Error::Timeout,
            Error::ClosedDuringHandshake,
            Error::Refused { status: 403 },
            Error::UpgradeUnavailable,
        ];
        // A limit, not a rule of an RFC.
        let limits = [Error::Response(ResponseError::TooLarge { limit: 1 })];
        let mut seen = std::collections::HashSet::new();
        for e in rules {
            let msg = e.to_string();
            assert!(msg.contains("RFC") || limits.contains(&e), "{msg}");
            assert!(seen.insert(msg), "duplicate message for {e:?}");
        }
        for e in outcomes {
            assert!(seen.insert(e.to_string()), "duplicate message for {e:?}");
        }
        let rejected = Error::Rejected(Box::new(Rejection {
            status: 403,
            reason: "Forbidden".into(),
            headers: vec![],
            body: vec![],
        }));
        assert!(rejected.to_string().contains("403 Forbidden"));
        for e in [
            UrlError::MissingScheme,
            UrlError::MissingHost,
            UrlError::InvalidHost,
            UrlError::InvalidIpv6,
            UrlError::InvalidPort,
            UrlError::Fragment,
            UrlError::UserInfo,
            UrlError::InvalidCharacter,
        ] {
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn sources_chain() {
        use std::error::Error as _;
        assert!(
            Error::Request(RequestError::Malformed(httparse::Error::Token))
                .source()
                .is_some()
        );
        assert!(
            Error::Response(ResponseError::InvalidExtensions(ExtensionParseError::Empty))
                .source()
                .is_some()
        );
        assert!(Error::Request(RequestError::MissingKey).source().is_none());
    }

    #[test]
    fn refusal_responses() {
        let r = String::from_utf8(RequestError::MissingKey.response()).unwrap();
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
        assert!(r.contains("\r\nConnection: close\r\n"));
        let body = "the Sec-WebSocket-Key header is missing (RFC 6455 §4.2.1 item 5)\n";
        assert!(r.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        assert!(r.ends_with(&format!("\r\n\r\n{body}")));
        assert!(!r.contains("Sec-WebSocket-Version"));

        let r = String::from_utf8(
            RequestError::UnsupportedVersion {
                offered: "8".into(),
            }
            .response(),
        )
        .unwrap();
        assert!(r.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{r}");
        assert!(r.contains("\r\nSec-WebSocket-Version: 13\r\n"));

        let r = String::from_utf8(RequestError::TooManyHeaders { limit: 3 }.response()).unwrap();
        assert!(r.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    }
}
