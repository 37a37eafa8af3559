//! Server side: a client's opening handshake validated into a [`Request`]
//! (an HTTP/1.1 Upgrade, RFC 6455 §4.2.1, or an HTTP/2 extended CONNECT,
//! RFC 8441 §4), and the answer (§4.2.2) with the extensions agreed.

use std::fmt::Write as _;

use base64::Engine as _;

use super::error::{BuildError, RequestError};
use super::extensions::ExtensionOffer;
use super::headers::{self, is_safe_value, is_token, write_field, Header};
use super::target;
use super::{
    accept_key, extension_list, has_token, protocol_list, with_header_slots, Limits, Parsed,
};
use crate::{Config, Connection, Extensions, Role};

/// The HTTP version an upgrade request arrived over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    /// HTTP/1.1: a `GET` with `Upgrade: websocket`, answered `101`.
    Http11,
    /// HTTP/2: an extended `CONNECT` with `:protocol websocket` (RFC 8441),
    /// answered `200`; the WebSocket runs on that one stream.
    Http2,
}

impl std::fmt::Display for HttpVersion {
    /// `HTTP/1.1` or `HTTP/2.0`, as logs usually spell them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HttpVersion::Http11 => "HTTP/1.1",
            HttpVersion::Http2 => "HTTP/2.0",
        })
    }
}

/// A validated client opening handshake.
///
/// Made by [`parse_request`] from HTTP/1.1 bytes, by
/// [`ServerHandshake`](super::ServerHandshake), or (feature `http`) by
/// [`Request::from_http`] from a head another HTTP stack parsed. Every
/// requirement of RFC 6455 §4.2.1 (or RFC 8441 §4) has been checked, so the
/// accessors need not fail. Nothing has been written yet: check
/// [`origin`](Request::origin), authentication and
/// [`protocols`](Request::protocols), then [`accept`](Request::accept) or
/// refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    version: HttpVersion,
    method: String,
    path: String,
    host: String,
    origin: Option<String>,
    key: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    headers: Vec<Header>,
}

/// Parses and validates a client's HTTP/1.1 opening handshake from the
/// bytes read so far.
///
/// Returns [`Parsed::Partial`] while the header block is incomplete and
/// within `limits`, and an error as soon as it cannot become valid: more than
/// `limits.max_size` bytes without the end of the head, more than
/// `limits.max_headers` fields, malformed HTTP, or a broken §4.2.1 rule. On
/// error, write [`RequestError::response`] and close the connection.
///
/// [`Parsed::Complete`] carries the head's length; any bytes after it are
/// already WebSocket frames and are left for the caller. (A request that
/// announces a body of its own is refused, RFC 9112 §6.3, so no body can
/// hide among them.)
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Parsed<Request>, RequestError> {
    // Never look past max_size: a head that does not end within it is refused.
    let window = &buf[..buf.len().min(limits.max_size)];
    let head = with_header_slots(limits, |slots| {
        let mut req = httparse::Request::new(slots);
        match req.parse(window) {
            Ok(httparse::Status::Complete(len)) => Ok(Some((
                Head {
                    version: HttpVersion::Http11,
                    method: req.method.unwrap_or_default().to_owned(),
                    target: req.path.unwrap_or_default().to_owned(),
                    http10: req.version == Some(0),
                    protocol: None,
                    authority: None,
                    headers: req.headers.iter().map(Header::from_httparse).collect(),
                },
                len,
            ))),
            Ok(httparse::Status::Partial) => Ok(None),
            Err(httparse::Error::TooManyHeaders) => Err(RequestError::TooManyHeaders {
                limit: limits.max_headers,
            }),
            Err(e) => Err(RequestError::Malformed(e)),
        }
    })?;
    match head {
        Some((head, len)) => Ok(Parsed::Complete(validate(head)?, len)),
        None if window.len() >= limits.max_size => Err(RequestError::TooLarge {
            limit: limits.max_size,
        }),
        None => Ok(Parsed::Partial),
    }
}

/// A request head from either HTTP version, before validation.
pub(crate) struct Head {
    pub(crate) version: HttpVersion,
    pub(crate) method: String,
    /// The request-target (HTTP/1.1) or `:path` (HTTP/2).
    pub(crate) target: String,
    /// An HTTP/1.0 request line.
    pub(crate) http10: bool,
    /// HTTP/2's `:protocol` pseudo-header (RFC 8441 §4).
    pub(crate) protocol: Option<String>,
    /// HTTP/2's `:authority`.
    pub(crate) authority: Option<String>,
    pub(crate) headers: Vec<Header>,
}

/// The value of a header that must appear exactly once.
fn single<'a>(
    list: &'a [Header],
    name: &'static str,
    missing: RequestError,
) -> Result<&'a [u8], RequestError> {
    match headers::count(list, name) {
        0 => Err(missing),
        1 => Ok(headers::find(list, name).unwrap_or_default()),
        _ => Err(RequestError::DuplicateHeader { name }),
    }
}

fn lossy(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

/// `host[:port]` (RFC 3986 §3.2.2, §3.2.3): a bracketed IP literal or a
/// name of visible ASCII without `@`, `[`, `]` or `:`, and a port of at
/// most 65535 (or empty).
fn valid_authority(authority: &[u8]) -> bool {
    let visible = |b: &u8| (0x21..=0x7e).contains(b) && !b"@[]".contains(b);
    let (host, port) = match authority.strip_prefix(b"[") {
        Some(rest) => match rest.iter().position(|&b| b == b']') {
            Some(end) if end > 0 && rest[..end].iter().all(visible) => {
                (&rest[..end], &rest[end + 1..])
            }
            _ => return false,
        },
        None => match authority.iter().position(|&b| b == b':') {
            Some(colon) => (&authority[..colon], &authority[colon..]),
            None => (authority, &b""[..]),
        },
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => {
            digits.len() <= 5
                && digits.iter().all(u8::is_ascii_digit)
                && std::str::from_utf8(digits)
                    .ok()
                    .is_none_or(|d| d.is_empty() || d.parse::<u32>().is_ok_and(|p| p <= 65535))
        }
        _ => false,
    };
    !host.is_empty() && host.iter().all(visible) && port_ok
}

/// Checks RFC 6455 §4.2.1 (HTTP/1.1) or RFC 8441 §4 and §5 (HTTP/2), and
/// the syntax of the optional fields. Whether this is a WebSocket request
/// at all is checked before the version, and the version before the key,
/// so a client of another protocol version gets the 426 it can act on.
pub(crate) fn validate(head: Head) -> Result<Request, RequestError> {
    let list = &head.headers;
    let host = match head.version {
        HttpVersion::Http11 => validate_upgrade(&head)?,
        HttpVersion::Http2 => validate_extended_connect(&head)?,
    };
    let target = target::normalise(&head.target)?;
    // An absolute-form target's authority replaces Host (RFC 9112 §3.3).
    let host = match target.authority {
        Some(authority) if valid_authority(authority.as_bytes()) => authority,
        Some(_) => return Err(RequestError::InvalidHost),
        None => host,
    };
    // The switch happens where the request ends (RFC 9110 §7.8): a request
    // with a body of its own would have that body read as frames.
    let announces_body = headers::count(list, "Transfer-Encoding") > 0
        || headers::find_all(list, "Content-Length").any(|v| v != b"0");
    if announces_body {
        return Err(RequestError::HasBody);
    }

    let version = single(list, "Sec-WebSocket-Version", RequestError::MissingVersion)?;
    if version != b"13" {
        return Err(RequestError::UnsupportedVersion {
            offered: lossy(version),
        });
    }
    let key = match head.version {
        HttpVersion::Http11 => {
            let key = single(list, "Sec-WebSocket-Key", RequestError::MissingKey)?;
            match base64::engine::general_purpose::STANDARD.decode(key) {
                // Valid base64 is ASCII.
                Ok(nonce) if nonce.len() == 16 => Some(lossy(key)),
                _ => return Err(RequestError::InvalidKey),
            }
        }
        // RFC 8441 §5: no key and no accept over HTTP/2.
        HttpVersion::Http2 => None,
    };

    let origin = match headers::count(list, "Origin") {
        0 | 1 => headers::find(list, "Origin"),
        _ => return Err(RequestError::DuplicateHeader { name: "Origin" }),
    };
    let origin = match origin {
        None => None,
        Some(o) if o.iter().all(|b| (0x20..=0x7e).contains(b)) => Some(lossy(o)),
        Some(_) => return Err(RequestError::InvalidOrigin),
    };
    let protocols = protocol_list(list).map_err(|value| RequestError::InvalidProtocol { value })?;
    let extensions = extension_list(list).map_err(RequestError::InvalidExtensions)?;

    Ok(Request {
        version: head.version,
        method: head.method,
        path: target.path,
        host,
        origin,
        key,
        protocols,
        extensions,
        headers: head.headers,
    })
}

/// RFC 6455 §4.2.1 items 1 to 4 for an HTTP/1.1 request; gives the `Host`.
fn validate_upgrade(head: &Head) -> Result<String, RequestError> {
    let list = &head.headers;
    if head.method != "GET" {
        return Err(RequestError::MethodNotGet {
            method: head.method.clone(),
        });
    }
    if head.http10 {
        return Err(RequestError::HttpVersionTooOld);
    }
    let host = single(list, "Host", RequestError::MissingHost)?;
    if !valid_authority(host) {
        return Err(RequestError::InvalidHost);
    }
    if headers::count(list, "Upgrade") == 0 {
        return Err(RequestError::MissingUpgrade);
    }
    if !has_token(list, "Upgrade", "websocket") {
        let value: Vec<String> = headers::find_all(list, "Upgrade").map(lossy).collect();
        return Err(RequestError::InvalidUpgrade {
            value: value.join(", "),
        });
    }
    if !has_token(list, "Connection", "upgrade") {
        return Err(RequestError::MissingConnectionUpgrade);
    }
    Ok(lossy(host))
}

/// RFC 8441 §4 for an HTTP/2 request: `CONNECT`, `:protocol websocket`,
/// an `:authority`; gives the authority.
fn validate_extended_connect(head: &Head) -> Result<String, RequestError> {
    if head.method != "CONNECT" {
        return Err(RequestError::MethodNotConnect {
            method: head.method.clone(),
        });
    }
    match &head.protocol {
        Some(p) if p.eq_ignore_ascii_case("websocket") => {}
        other => {
            return Err(RequestError::InvalidProtocolPseudoHeader {
                value: other.clone(),
            })
        }
    }
    let authority = match &head.authority {
        Some(a) => a.as_bytes(),
        None => single(&head.headers, "Host", RequestError::MissingHost)?,
    };
    if !valid_authority(authority) {
        return Err(RequestError::InvalidHost);
    }
    Ok(lossy(authority))
}

/// Headers the answer writes itself; adding them again would produce a
/// contradictory response.
const RESERVED_IN_RESPONSE: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

impl Request {
    /// The HTTP version the request arrived over.
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// The request method: `GET` over HTTP/1.1, `CONNECT` over HTTP/2.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Path and query in origin form, e.g. `/chat?room=1`, also when the
    /// client sent an absolute-form target (RFC 9112 §3.2.2).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The authority the client asked for (`host` or `host:port`): the
    /// authority of an absolute-form target, else `Host` (RFC 9112 §3.3),
    /// or HTTP/2's `:authority`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header, sent by browsers (RFC 6455 §4.2.1 item 7, §10.2);
    /// `None` when absent (a request whose `Origin` is not printable ASCII
    /// is refused with 400 before you see it). Check it against an
    /// allow-list to refuse cross-site pages; clients that are not browsers
    /// usually send none:
    ///
    /// ```
    /// # fn check(request: &rfc6455::handshake::Request) -> Result<(), rfc6455::handshake::Refusal> {
    /// if request.origin().is_some_and(|o| o != "https://app.example") {
    ///     return Err(rfc6455::handshake::Refusal::new(403));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The first of `supported` (your order of preference) that the client
    /// offered, for [`AcceptOptions::protocol`]; `None` when it offered
    /// none of them (RFC 6455 §4.2.2 item 5.4: the answer then names no
    /// subprotocol, and the client decides whether to go on).
    ///
    /// ```
    /// # fn pick(request: &rfc6455::handshake::Request) {
    /// use rfc6455::handshake::AcceptOptions;
    /// let mut options = AcceptOptions::default();
    /// options.protocol = request.select_protocol(["chat.v2", "chat.v1"]).map(str::to_owned);
    /// # }
    /// ```
    pub fn select_protocol<I, P>(&self, supported: I) -> Option<&str>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        supported.into_iter().find_map(|wanted| {
            self.protocols
                .iter()
                .find(|offered| *offered == wanted.as_ref())
                .map(String::as_str)
        })
    }

    /// The `Sec-WebSocket-Key` value (base64 of 16 bytes); `None` over
    /// HTTP/2, which has no key (RFC 8441 §5).
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The subprotocols offered, in the client's order of preference, merged
    /// across repeated `Sec-WebSocket-Protocol` headers.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extension offers, in the client's order of preference, merged
    /// across repeated `Sec-WebSocket-Extensions` headers.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Every header of the request, in order.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The first header called `name` (ASCII case-insensitive), if its value
    /// is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::find(&self.headers, name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The `Sec-WebSocket-Accept` value answering this request's key
    /// (`None` over HTTP/2).
    pub fn accept_key(&self) -> Option<String> {
        self.key.as_deref().map(|key| accept_key(key.as_bytes()))
    }

    /// Accepts the request: agrees on the extensions `config` enables
    /// (permessage-deflate with [`Config::deflate`], RFC 7692 §5) unless
    /// `options` declines them, and gives the answer to send and the
    /// connection to run.
    ///
    /// `options.protocol` must be one of [`Request::protocols`] (compared
    /// exactly); extra headers must be valid field names and values without
    /// control characters, and must not be ones the answer writes itself.
    /// Anything else is an [`BuildError`], so an answer can never be
    /// malformed, carry injected headers, or agree to an extension the
    /// connection cannot run.
    ///
    /// ```
    /// use rfc6455::handshake::{parse_request, AcceptOptions, Limits, Parsed};
    /// use rfc6455::Config;
    ///
    /// let bytes = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    ///     Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// let Parsed::Complete(request, _) = parse_request(bytes, &Limits::default())? else {
    ///     unreachable!()
    /// };
    /// let accepted = request.accept(&AcceptOptions::default().protocol("chat"), &Config::default())?;
    /// assert_eq!(accepted.protocol(), Some("chat"));
    /// let answer = accepted.encode(); // write these bytes, then run:
    /// let connection = accepted.into_connection(b"");
    /// # let _ = (answer, connection);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept(&self, options: &AcceptOptions, config: &Config) -> Result<Accepted, BuildError> {
        if let Some(protocol) = &options.protocol {
            if !self.protocols.iter().any(|p| p == protocol) {
                return Err(BuildError::ProtocolNotOffered {
                    protocol: protocol.clone(),
                });
            }
        }
        for (name, value) in &options.headers {
            if !is_token(name.as_bytes()) || !is_safe_value(value.as_bytes()) {
                return Err(BuildError::InvalidHeader { name: name.clone() });
            }
            if RESERVED_IN_RESPONSE
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name))
            {
                return Err(BuildError::ReservedHeader { name: name.clone() });
            }
        }
        let (extensions, extensions_answer) = if options.decline_extensions {
            (Extensions::none(), None)
        } else {
            Extensions::negotiate_server(&self.extensions, config)
        };
        Ok(Accepted {
            version: self.version,
            accept_key: self.accept_key(),
            protocol: options.protocol.clone(),
            extensions,
            extensions_answer,
            headers: options.headers.clone(),
            config: config.clone(),
        })
    }
}

/// What a server puts in its answer besides the mandatory fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptOptions {
    /// The subprotocol selected: one of [`Request::protocols`], or `None`.
    pub protocol: Option<String>,
    /// Extra headers, e.g. `Set-Cookie`.
    pub headers: Vec<(String, String)>,
    /// Decline every extension offer, even those the config enables.
    pub decline_extensions: bool,
}

impl AcceptOptions {
    /// Selects a subprotocol.
    #[must_use]
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// Adds an extra header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Declines every extension for this connection (no compression).
    #[must_use]
    pub fn decline_extensions(mut self) -> Self {
        self.decline_extensions = true;
        self
    }
}

/// An accepted request: the answer to send and what it agreed to.
///
/// Write [`encode`](Accepted::encode) (HTTP/1.1) or send
/// [`to_http`](Accepted::to_http) through your HTTP stack, then run the
/// WebSocket with [`into_connection`](Accepted::into_connection), which is
/// built with exactly the extensions the answer names.
#[derive(Debug, Clone)]
pub struct Accepted {
    version: HttpVersion,
    accept_key: Option<String>,
    protocol: Option<String>,
    extensions: Extensions,
    extensions_answer: Option<String>,
    headers: Vec<(String, String)>,
    config: Config,
}

impl Accepted {
    /// The subprotocol selected, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions agreed.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The HTTP version of the request answered.
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// The status the answer carries: 101 over HTTP/1.1 (RFC 6455 §4.2.2),
    /// 200 over HTTP/2 (RFC 8441 §5).
    pub fn status(&self) -> u16 {
        match self.version {
            HttpVersion::Http11 => 101,
            HttpVersion::Http2 => 200,
        }
    }

    /// The answer's header fields, in order (none of HTTP/2's
    /// connection-specific ones over HTTP/2).
    pub fn fields(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::with_capacity(5 + self.headers.len());
        if let Some(key) = &self.accept_key {
            out.push(("Upgrade", "websocket"));
            out.push(("Connection", "Upgrade"));
            out.push(("Sec-WebSocket-Accept", key.as_str()));
        }
        if let Some(protocol) = &self.protocol {
            out.push(("Sec-WebSocket-Protocol", protocol.as_str()));
        }
        if let Some(answer) = &self.extensions_answer {
            out.push(("Sec-WebSocket-Extensions", answer.as_str()));
        }
        out.extend(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        out
    }

    /// The HTTP/1.1 `101 Switching Protocols` answer, ready to write. (An
    /// HTTP/2 request is answered through its HTTP stack: see
    /// [`to_http`](Accepted::to_http).)
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        for (name, value) in self.fields() {
            write_field(&mut out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The connection to run once the answer is sent; `leftover` holds the
    /// bytes read past the request head (a client may send frames at once).
    pub fn into_connection(self, leftover: &[u8]) -> Connection {
        let mut conn = Connection::with_extensions(Role::Server, self.config, &self.extensions);
        conn.recv(leftover);
        conn
    }
}

/// Writes a complete HTTP refusal: status line with the usual reason phrase
/// (empty for codes this module does not know), the given headers,
/// `Connection: close`, `Content-Length` and `body`.
///
/// Never fails, so it sanitizes instead: a header whose name is not a token
/// or whose value holds CR, LF or another control character is left out
/// (header injection is impossible), as are `Connection`, `Content-Length`
/// and `Transfer-Encoding`, which this function writes itself. A `status`
/// outside `200..=999` (a 1xx cannot refuse anything) is written as 500.
///
/// The bytes of [`Refusal::encode`](super::Refusal::encode).
pub(crate) fn encode_refusal(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let status = refusal_status(status);
    let mut head = String::with_capacity(128);
    // Writing to a String cannot fail.
    let _ = write!(head, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    let mut out = head.into_bytes();
    for &(name, value) in headers {
        let ours = ["Connection", "Content-Length", "Transfer-Encoding"]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name));
        if !ours && is_token(name.as_bytes()) && is_safe_value(value.as_bytes()) {
            write_field(&mut out, name, value.as_bytes());
        }
    }
    write_field(&mut out, "Connection", b"close");
    write_field(
        &mut out,
        "Content-Length",
        body.len().to_string().as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The status a refusal goes out with: `status`, or 500 outside
/// `200..=999` (a 1xx cannot refuse anything).
pub(crate) fn refusal_status(status: u16) -> u16 {
    if (200..=999).contains(&status) {
        status
    } else {
        500
    }
}

/// Reason phrases of RFC 9110 §15 for the statuses a handshake refusal is
/// likely to use.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        421 => "Misdirected Request",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample handshake of RFC 6455 §1.3.
    const SAMPLE: &[u8] = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn parse(bytes: &[u8]) -> Result<Parsed<Request>, RequestError> {
        parse_request(bytes, &Limits::default())
    }

    fn complete(bytes: &[u8]) -> (Request, usize) {
        match parse(bytes) {
            Ok(Parsed::Complete(r, n)) => (r, n),
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    fn error(bytes: &[u8]) -> RequestError {
        match parse(bytes) {
            Err(e) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// A valid request without the headers named in `drop`, with the raw
    /// header lines `extra` appended.
    fn request_with(drop: &[&str], extra: &str) -> Vec<u8> {
        let mut s = String::from("GET /x HTTP/1.1\r\n");
        for (name, value) in [
            ("Host", "h"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ] {
            if !drop.contains(&name) {
                s.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        s.push_str(extra);
        s.push_str("\r\n");
        s.into_bytes()
    }

    /// A valid request with raw (possibly non-UTF-8) header lines appended.
    fn with_raw(extra: &[u8]) -> Vec<u8> {
        let mut v = request_with(&[], "");
        v.truncate(v.len() - 2);
        v.extend_from_slice(extra);
        v.extend_from_slice(b"\r\n");
        v
    }

    #[test]
    fn rfc_sample_request_parses() {
        let (req, consumed) = complete(SAMPLE);
        assert_eq!(consumed, SAMPLE.len());
        assert_eq!(req.method(), "GET");
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.host(), "server.example.com");
        assert_eq!(req.origin(), Some("http://example.com"));
        assert_eq!(req.key(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(req.version(), HttpVersion::Http11);
        assert_eq!(req.protocols(), ["chat", "superchat"]);
        assert!(req.extensions().is_empty());
        assert_eq!(req.headers().len(), 7);
        assert_eq!(req.header("sec-websocket-version"), Some("13"));
        assert_eq!(req.header("X-Missing"), None);
        assert_eq!(
            req.accept_key().as_deref(),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
    }

    #[test]
    fn partial_byte_by_byte_then_complete() {
        for end in 0..SAMPLE.len() {
            assert_eq!(parse(&SAMPLE[..end]), Ok(Parsed::Partial), "prefix {end}");
        }
        assert!(matches!(parse(SAMPLE), Ok(Parsed::Complete(_, n)) if n == SAMPLE.len()));
    }

    #[test]
    fn pipelined_bytes_are_left_alone() {
        let mut buf = SAMPLE.to_vec();
        let frame = [
            0x81,
            0x85,
            1,
            2,
            3,
            4,
            b'h' ^ 1,
            b'e' ^ 2,
            b'l' ^ 3,
            b'l' ^ 4,
            b'o' ^ 1,
        ];
        buf.extend_from_slice(&frame);
        let (_, consumed) = complete(&buf);
        assert_eq!(consumed, SAMPLE.len());
        assert_eq!(&buf[consumed..], frame);
    }

    #[test]
    fn names_and_tokens_are_case_insensitive() {
        let req = b"GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\n\
            connection: keep-alive, UPGRADE\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            SEC-WEBSOCKET-VERSION: 13\r\n\r\n";
        let (r, _) = complete(req);
        assert_eq!(r.header("Connection"), Some("keep-alive, UPGRADE"));
    }

    #[test]
    fn repeated_headers_and_lists_merge() {
        let req = request_with(
            &[],
            "Sec-WebSocket-Protocol: a, b\r\nConnection: keep-alive\r\n\
             Sec-WebSocket-Protocol: c\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Sec-WebSocket-Extensions: permessage-deflate, x-foo; q=\"1\"\r\n",
        );
        let (r, _) = complete(&req);
        assert_eq!(r.protocols(), ["a", "b", "c"]);
        let names: Vec<&str> = r.extensions().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["permessage-deflate", "permessage-deflate", "x-foo"]);
        assert_eq!(r.extensions()[2].param("q"), Some(Some("1")));
        assert_eq!(r.origin(), None);
    }

    #[test]
    fn connection_token_split_over_repeated_fields() {
        let req = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
            Connection: keep-alive\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        complete(req);
    }

    #[test]
    fn too_large() {
        let limits = Limits {
            max_size: 40,
            max_headers: 64,
        };
        // Still partial but over the limit.
        assert_eq!(
            parse_request(&SAMPLE[..60], &limits),
            Err(RequestError::TooLarge { limit: 40 })
        );
        // Within the limit: partial.
        assert_eq!(parse_request(&SAMPLE[..39], &limits), Ok(Parsed::Partial));
        // Exactly at the limit and incomplete: can never fit.
        assert_eq!(
            parse_request(&SAMPLE[..40], &limits),
            Err(RequestError::TooLarge { limit: 40 })
        );
        // A complete head that is exactly max_size long is fine.
        let exact = Limits {
            max_size: SAMPLE.len(),
            max_headers: 64,
        };
        assert!(matches!(
            parse_request(SAMPLE, &exact),
            Ok(Parsed::Complete(..))
        ));
        assert_eq!(
            error(&vec![b'G'; 10_000]),
            RequestError::TooLarge { limit: 8192 }
        );
    }

    #[test]
    fn too_many_headers() {
        let limits = Limits {
            max_size: 8192,
            max_headers: 5,
        };
        assert_eq!(
            parse_request(SAMPLE, &limits),
            Err(RequestError::TooManyHeaders { limit: 5 })
        );
        let mut extra = String::new();
        for i in 0..70 {
            extra.push_str(&format!("X-{i}: v\r\n"));
        }
        assert_eq!(
            error(&request_with(&[], &extra)),
            RequestError::TooManyHeaders { limit: 64 }
        );
        // Beyond the stack array the slots come from the heap.
        let many = Limits {
            max_size: 8192,
            max_headers: 200,
        };
        let mut extra = String::new();
        for i in 0..150 {
            extra.push_str(&format!("X-{i}: v\r\n"));
        }
        let req = request_with(&[], &extra);
        assert!(matches!(
            parse_request(&req, &many),
            Ok(Parsed::Complete(r, _)) if r.headers().len() == 155
        ));
    }

    #[test]
    fn malformed_http() {
        assert!(matches!(
            error(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
            RequestError::Malformed(_)
        ));
        assert!(matches!(
            error(b"GET / HTTP/2.0\r\n\r\n"),
            RequestError::Malformed(httparse::Error::Version)
        ));
        assert!(matches!(error(b"\x00\x01\x02"), RequestError::Malformed(_)));
    }

    #[test]
    fn method_and_version() {
        let mut req = request_with(&[], "");
        req.splice(0..3, b"POST".iter().copied());
        assert_eq!(
            error(&req),
            RequestError::MethodNotGet {
                method: "POST".into()
            }
        );
        let req = String::from_utf8(request_with(&[], ""))
            .unwrap()
            .replace("HTTP/1.1", "HTTP/1.0");
        assert_eq!(error(req.as_bytes()), RequestError::HttpVersionTooOld);
    }

    #[test]
    fn host_rules() {
        assert_eq!(
            error(&request_with(&["Host"], "")),
            RequestError::MissingHost
        );
        assert_eq!(
            error(&request_with(&[], "Host: other\r\n")),
            RequestError::DuplicateHeader { name: "Host" }
        );
        assert_eq!(
            error(&request_with(&["Host"], "Host:\r\n")),
            RequestError::InvalidHost
        );
        assert_eq!(
            error(&request_with(&["Host"], "Host: a b\r\n")),
            RequestError::InvalidHost
        );
        for bad in [
            "u@evil.test",
            "a.test:99999999",
            "a.test:65536",
            "[::1",
            "a:b:c",
            "[]",
            ":80",
        ] {
            assert_eq!(
                error(&request_with(&["Host"], &format!("Host: {bad}\r\n"))),
                RequestError::InvalidHost,
                "{bad}"
            );
        }
        for good in [
            "a.test",
            "a.test:8080",
            "a.test:",
            "[::1]",
            "[::1]:9001",
            "127.0.0.1:1",
        ] {
            complete(&request_with(&["Host"], &format!("Host: {good}\r\n")));
        }
        assert_eq!(
            error(&request_with(
                &[],
                "Origin: https://a\r\nOrigin: https://b\r\n"
            )),
            RequestError::DuplicateHeader { name: "Origin" }
        );
    }

    #[test]
    fn upgrade_and_connection_rules() {
        assert_eq!(
            error(&request_with(&["Upgrade"], "")),
            RequestError::MissingUpgrade
        );
        assert_eq!(
            error(&request_with(
                &["Upgrade"],
                "Upgrade: h2c\r\nUpgrade: websocket2\r\n"
            )),
            RequestError::InvalidUpgrade {
                value: "h2c, websocket2".into()
            }
        );
        // Upgrade may list several protocols.
        complete(&request_with(&["Upgrade"], "Upgrade: h2c, WebSocket\r\n"));
        assert_eq!(
            error(&request_with(&["Connection"], "")),
            RequestError::MissingConnectionUpgrade
        );
        assert_eq!(
            error(&request_with(&["Connection"], "Connection: keep-alive\r\n")),
            RequestError::MissingConnectionUpgrade
        );
        // `Upgrade` must be a whole list element.
        assert_eq!(
            error(&request_with(&["Connection"], "Connection: upgraded\r\n")),
            RequestError::MissingConnectionUpgrade
        );
    }

    #[test]
    fn key_rules() {
        assert_eq!(
            error(&request_with(&["Sec-WebSocket-Key"], "")),
            RequestError::MissingKey
        );
        assert_eq!(
            error(&request_with(
                &[],
                "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
            )),
            RequestError::DuplicateHeader {
                name: "Sec-WebSocket-Key"
            }
        );
        for bad in [
            "",
            "not base64!",
            "AAAAAAAAAAAAAAAAAAAA",     // 15 bytes
            "AAAAAAAAAAAAAAAAAAAAAAA=", // 17 bytes
            "AAAAAAAAAAAAAAAAAAAAAA",   // missing padding
            "AAAAAAAAAAAAAAAAAAAAAB==", // non-canonical trailing bits
            "dGhlIHNhbXBsZSBub25jZQ==\u{e9}",
        ] {
            let req = request_with(
                &["Sec-WebSocket-Key"],
                &format!("Sec-WebSocket-Key: {bad}\r\n"),
            );
            assert_eq!(error(&req), RequestError::InvalidKey, "key {bad:?}");
        }
    }

    #[test]
    fn version_rules() {
        assert_eq!(
            error(&request_with(&["Sec-WebSocket-Version"], "")),
            RequestError::MissingVersion
        );
        let e = error(&request_with(
            &["Sec-WebSocket-Version"],
            "Sec-WebSocket-Version: 8\r\n",
        ));
        assert_eq!(
            e,
            RequestError::UnsupportedVersion {
                offered: "8".into()
            }
        );
        assert_eq!(e.status(), 426);
        assert_eq!(
            error(&request_with(&[], "Sec-WebSocket-Version: 13\r\n")),
            RequestError::DuplicateHeader {
                name: "Sec-WebSocket-Version"
            }
        );
    }

    #[test]
    fn optional_header_syntax() {
        assert_eq!(
            error(&request_with(&[], "Sec-WebSocket-Protocol: chat, a b\r\n")),
            RequestError::InvalidProtocol {
                value: "a b".into()
            }
        );
        assert!(matches!(
            error(&request_with(&[], "Sec-WebSocket-Extensions: a;;\r\n")),
            RequestError::InvalidExtensions(_)
        ));
        assert!(matches!(
            error(&with_raw(b"Sec-WebSocket-Extensions: \xff\r\n")),
            RequestError::InvalidExtensions(_)
        ));
        // An Origin no browser could send is refused, not taken as absent.
        assert_eq!(
            error(&with_raw(b"Origin: https://a.test\xff\r\n")),
            RequestError::InvalidOrigin
        );
        assert_eq!(
            error(&with_raw(b"Origin: a\tb\r\n")),
            RequestError::InvalidOrigin
        );
        // (httparse itself refuses other control bytes in any value.)
        assert!(matches!(
            error(&with_raw(b"Origin: a\x01\r\n")),
            RequestError::Malformed(_)
        ));
        let (r, _) = complete(&with_raw(b"Origin: null\r\n"));
        assert_eq!(r.origin(), Some("null"));
    }

    fn accept(req: &Request, options: AcceptOptions) -> Result<Vec<u8>, BuildError> {
        req.accept(&options, &Config::default()).map(|a| a.encode())
    }

    #[test]
    fn accept_writes_101() {
        let (req, _) = complete(SAMPLE);
        let out = accept(&req, AcceptOptions::default()).unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
        let out = accept(
            &req,
            AcceptOptions::default()
                .protocol("superchat")
                .header("Set-Cookie", "a=b"),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nSec-WebSocket-Protocol: superchat\r\n"));
        assert!(text.ends_with("\r\nSet-Cookie: a=b\r\n\r\n"));
    }

    #[test]
    fn accept_validates_options() {
        let (req, _) = complete(&request_with(
            &[],
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
        ));
        assert_eq!(
            accept(&req, AcceptOptions::default().protocol("Chat")),
            Err(BuildError::ProtocolNotOffered {
                protocol: "Chat".into()
            })
        );
        // Without a deflate config nothing is agreed, and the answer says so.
        let accepted = req
            .accept(&AcceptOptions::default(), &Config::default())
            .unwrap();
        assert!(accepted.extensions().is_empty());
        assert!(!String::from_utf8(accepted.encode())
            .unwrap()
            .contains("Sec-WebSocket-Extensions"));
        for (name, value) in [
            ("X-A", "1\r\nX-Injected: 1"),
            ("X A", "1"),
            ("", "1"),
            ("X-B", "\n"),
        ] {
            assert_eq!(
                accept(&req, AcceptOptions::default().header(name, value)),
                Err(BuildError::InvalidHeader { name: name.into() })
            );
        }
        assert_eq!(
            accept(
                &req,
                AcceptOptions::default().header("sec-websocket-accept", "x")
            ),
            Err(BuildError::ReservedHeader {
                name: "sec-websocket-accept".into()
            })
        );
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn accept_agrees_on_what_the_connection_runs() {
        let (req, _) = complete(&request_with(
            &[],
            "Sec-WebSocket-Extensions: x-other, permessage-deflate; server_max_window_bits=10\r\n",
        ));
        let config = Config::default().deflate(crate::deflate::DeflateConfig::default());
        let accepted = req.accept(&AcceptOptions::default(), &config).unwrap();
        let text = String::from_utf8(accepted.encode()).unwrap();
        assert!(text.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
             client_no_context_takeover; server_max_window_bits=10\r\n"
        ));
        let params = *accepted.extensions().deflate().unwrap();
        assert_eq!(params.server_max_window_bits, 10);
        let conn = accepted.clone().into_connection(b"");
        assert_eq!(conn.extensions().deflate(), Some(&params));
        // Declined on request.
        let declined = req
            .accept(&AcceptOptions::default().decline_extensions(), &config)
            .unwrap();
        assert!(declined.extensions().is_empty());
        assert!(!String::from_utf8(declined.encode())
            .unwrap()
            .contains("Extensions"));
    }

    #[test]
    fn upgrade_with_a_body_is_refused() {
        // RFC 9112 §6.3: the body belongs to the request, and would be read
        // as frames after the switch (request smuggling).
        for extra in [
            "Content-Length: 14\r\n",
            "Content-Length: 5\r\n",
            "Transfer-Encoding: chunked\r\n",
            "Transfer-Encoding: identity\r\n",
            "Content-Length: 0\r\nContent-Length: 3\r\n",
            "Content-Length: x\r\n",
        ] {
            assert_eq!(
                error(&request_with(&[], extra)),
                RequestError::HasBody,
                "{extra:?}"
            );
        }
        let mut smuggled = request_with(&[], "Content-Length: 14\r\n");
        smuggled.extend_from_slice(&[0x81, 0x88, 0, 0, 0, 0]);
        smuggled.extend_from_slice(b"smuggled");
        assert_eq!(error(&smuggled), RequestError::HasBody);
        assert_eq!(RequestError::HasBody.status(), 400);
        // Some clients send an explicit empty body.
        complete(&request_with(&[], "Content-Length: 0\r\n"));
    }

    #[test]
    fn absolute_form_targets_are_normalised() {
        let req = b"GET http://example.test:8080/chat?room=1 HTTP/1.1\r\nHost: other.test\r\n\
            Upgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let (r, _) = complete(req);
        assert_eq!(r.path(), "/chat?room=1");
        assert_eq!(r.host(), "example.test:8080");
        for target in ["*", "example.test:8080", "chat", "ftp://a/x"] {
            let req = String::from_utf8(request_with(&[], ""))
                .unwrap()
                .replace("GET /x ", &format!("GET {target} "));
            assert!(
                matches!(error(req.as_bytes()), RequestError::InvalidTarget { .. }),
                "{target}"
            );
        }
    }

    #[test]
    fn refusal_encoding() {
        let out = encode_refusal(404, &[("Content-Type", "text/plain")], b"nope");
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\
              Content-Length: 4\r\n\r\nnope"
        );
        // Unsafe and self-written headers are dropped; odd statuses clamped.
        let out = encode_refusal(
            42,
            &[
                ("X-Evil", "a\r\nSet-Cookie: x"),
                ("Bad Name", "v"),
                ("content-length", "99"),
                ("Connection", "keep-alive"),
                ("X-Ok", "fine"),
            ],
            b"",
        );
        assert_eq!(
            out,
            b"HTTP/1.1 500 Internal Server Error\r\nX-Ok: fine\r\nConnection: close\r\n\
              Content-Length: 0\r\n\r\n"
        );
        assert!(encode_refusal(599, &[], b"").starts_with(b"HTTP/1.1 599 \r\n"));
        for status in [
            200, 301, 302, 303, 307, 308, 400, 401, 403, 405, 406, 408, 409, 410, 413, 414, 421,
            426, 429, 431, 500, 501, 502, 503, 504,
        ] {
            assert!(!reason_phrase(status).is_empty(), "{status}");
        }
    }
}
