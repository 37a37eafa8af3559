//! Client side: writing the opening handshake (RFC 6455 §4.1) and checking
//! the server's answer.

use std::net::Ipv6Addr;

use base64::Engine as _;

use super::error::{BuildError, Error, Rejection, ResponseError, UrlError};
use super::extensions::{parse_extensions, ExtensionOffer};
use super::headers::{self, is_safe_value, is_token, write_field, Header};
use super::{
    accept_key, extension_list, has_token, protocol_list, with_header_slots, Limits, Parsed,
};

/// A client opening handshake for one `ws://` or `wss://` URL.
///
/// Built with [`ClientRequest::new`] and the fallible builders (which refuse
/// anything that would make the request malformed), written with
/// [`ClientRequest::encode`], and used again to check the answer with
/// [`ClientRequest::parse_response`], since the answer must match the key,
/// subprotocols and extensions offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    tls: bool,
    /// Lower-cased; an IPv6 literal is kept without its brackets.
    host: String,
    ipv6: bool,
    port: u16,
    path: String,
    key: String,
    protocols: Vec<String>,
    extensions: Option<(String, Vec<ExtensionOffer>)>,
    headers: Vec<(String, String)>,
}

/// Headers `encode` writes itself.
const RESERVED_IN_REQUEST: &[&str] = &[
    // Connection-specific: meaningless here, and illegal over HTTP/2
    // (RFC 9113 §8.2.2).
    "Keep-Alive",
    "Proxy-Connection",
    "TE",
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

impl ClientRequest {
    /// Parses `ws://host[:port][/path][?query]` or `wss://...` (RFC 6455 §3)
    /// and draws a fresh random key.
    ///
    /// The scheme and host are case-insensitive and lower-cased; the default
    /// ports are 80 and 443; an IPv6 host is written in brackets
    /// (`ws://[::1]:9001`); an empty path becomes `/`. A fragment (`#...`) is
    /// an error, as §3 requires, and so are user information (`user@`) and
    /// any space, control or non-ASCII character (percent-encode those).
    pub fn new(url: &str) -> Result<Self, BuildError> {
        let url_error = BuildError::InvalidUrl;
        if !url.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(url_error(UrlError::InvalidCharacter));
        }
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(s, _)| is_scheme(s))
            .ok_or(url_error(UrlError::MissingScheme))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "ws" => false,
            "wss" => true,
            _ => {
                return Err(BuildError::UnsupportedScheme {
                    scheme: scheme.to_owned(),
                })
            }
        };
        if rest.contains('#') {
            return Err(url_error(UrlError::Fragment));
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(url_error(UrlError::UserInfo));
        }

        let (host, ipv6, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (literal, after) = bracketed
                .split_once(']')
                .ok_or(url_error(UrlError::InvalidIpv6))?;
            if literal.parse::<Ipv6Addr>().is_err() {
                return Err(url_error(UrlError::InvalidIpv6));
            }
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or(url_error(UrlError::InvalidHost))?,
                ),
            };
            (literal, true, port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            if host.is_empty() {
                return Err(url_error(UrlError::MissingHost));
            }
            let host_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            if !host.bytes().all(host_char) {
                return Err(url_error(UrlError::InvalidHost));
            }
            (host, false, port)
        };
        let default_port = if tls { 443 } else { 80 };
        let port = match port {
            // An empty port means the default one (RFC 3986 §3.2.3).
            None | Some("") => default_port,
            Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u16>() {
                    Ok(port) if port != 0 => port,
                    _ => return Err(url_error(UrlError::InvalidPort)),
                }
            }
            Some(_) => return Err(url_error(UrlError::InvalidPort)),
        };
        let path = match target.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{target}"),
            Some(_) => target.to_owned(),
        };

        let nonce = crate::rng::handshake_nonce();
        Ok(ClientRequest {
            tls,
            host: host.to_ascii_lowercase(),
            ipv6,
            port,
            path,
            key: base64::engine::general_purpose::STANDARD.encode(nonce),
            protocols: Vec::new(),
            extensions: None,
            headers: Vec::new(),
        })
    }

    /// Offers several subprotocols, in order of preference (appended to any
    /// offered before). Each must be a token (RFC 6455 §4.1 item 10).
    pub fn protocols<I, S>(mut self, protocols: I) -> Result<Self, BuildError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for p in protocols {
            let p = p.as_ref();
            if !is_token(p.as_bytes()) {
                return Err(BuildError::InvalidProtocol {
                    value: p.to_owned(),
                });
            }
            self.protocols.push(p.to_owned());
        }
        Ok(self)
    }

    /// Offers one more subprotocol.
    pub fn protocol(self, protocol: &str) -> Result<Self, BuildError> {
        self.protocols([protocol])
    }

    /// Sets the raw `Sec-WebSocket-Extensions` value to offer, e.g.
    /// `permessage-deflate; client_max_window_bits`. It must follow RFC 6455
    /// §9.1; the names it lists are the only ones the server may accept,
    /// and the answer is checked against exactly this offer.
    ///
    /// Usually unneeded: [`Config::deflate`](crate::Config) makes the
    /// permessage-deflate offer by itself. An offer set here may only name
    /// extensions the connection's config enables (permessage-deflate needs
    /// `Config::deflate`), else the handshake fails before anything is sent
    /// with [`BuildError::ExtensionNotEnabled`].
    pub fn extensions(mut self, value: impl Into<String>) -> Result<Self, BuildError> {
        let value = value.into();
        let offers = parse_extensions(&value).map_err(BuildError::InvalidExtensions)?;
        let value = value.trim_matches([' ', '\t']).to_owned();
        self.extensions = Some((value, offers));
        Ok(self)
    }

    /// The subprotocols offered, in order.
    #[cfg(feature = "http")]
    pub(crate) fn protocol_list(&self) -> &[String] {
        &self.protocols
    }

    /// The extra headers, in order.
    #[cfg(feature = "http")]
    pub(crate) fn extra_headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The offers the caller set, parsed.
    pub(crate) fn offered(&self) -> Option<&[ExtensionOffer]> {
        self.extensions
            .as_ref()
            .map(|(_, offers)| offers.as_slice())
    }

    /// The `Sec-WebSocket-Extensions` value this request offers, if any.
    pub fn extensions_offered(&self) -> Option<&str> {
        self.extensions.as_ref().map(|(value, _)| value.as_str())
    }

    /// Adds an extra header such as `Origin` or `Authorization`. The name
    /// must be a token and the value free of CR, LF and other control
    /// characters; headers the handshake writes itself are refused.
    pub fn header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, BuildError> {
        let (name, value) = (name.into(), value.into());
        if !is_token(name.as_bytes()) || !is_safe_value(value.as_bytes()) {
            return Err(BuildError::InvalidHeader { name });
        }
        if RESERVED_IN_REQUEST
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&name))
        {
            return Err(BuildError::ReservedHeader { name });
        }
        self.headers.push((name, value));
        Ok(self)
    }

    /// The host to connect to, lower-cased; an IPv6 literal comes without
    /// brackets (`::1`), ready for `(host, port)` socket APIs.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default (80 for `ws`, 443 for
    /// `wss`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the scheme is `wss` (the connection must use TLS).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The request target: path and query, e.g. `/chat?room=1`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `Sec-WebSocket-Key` sent: base64 of 16 random bytes.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `Host` header value: the host (bracketed if IPv6) and the port
    /// unless it is the scheme's default (RFC 6455 §4.1 item 4).
    pub fn host_header(&self) -> String {
        let mut out = if self.ipv6 {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port != if self.tls { 443 } else { 80 } {
            out.push(':');
            out.push_str(&self.port.to_string());
        }
        out
    }

    /// The opening handshake's bytes, ready to write.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_field(&mut out, "Host", self.host_header().as_bytes());
        write_field(&mut out, "Upgrade", b"websocket");
        write_field(&mut out, "Connection", b"Upgrade");
        write_field(&mut out, "Sec-WebSocket-Key", self.key.as_bytes());
        write_field(&mut out, "Sec-WebSocket-Version", b"13");
        if !self.protocols.is_empty() {
            write_field(
                &mut out,
                "Sec-WebSocket-Protocol",
                self.protocols.join(", ").as_bytes(),
            );
        }
        if let Some((value, _)) = &self.extensions {
            write_field(&mut out, "Sec-WebSocket-Extensions", value.as_bytes());
        }
        for (name, value) in &self.headers {
            write_field(&mut out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Parses and checks the server's answer from the bytes read so far.
    ///
    /// A `101` must carry `Upgrade: websocket`, `Connection: Upgrade`, the
    /// right `Sec-WebSocket-Accept`, at most one subprotocol and only offered
    /// subprotocols and extensions (RFC 6455 §4.1). Then
    /// [`Parsed::Complete`] carries the head's length: the bytes after it are
    /// already WebSocket frames.
    ///
    /// Any other status is read with its body, framed by `Content-Length` or
    /// chunked encoding (until then: [`Parsed::Partial`]), or, with neither,
    /// taken as whatever bytes are present (the body runs until the close,
    /// so give the whole input); it is then returned as
    /// [`Error::Rejected`]. Head and body together are bounded by
    /// `limits.max_size` ([`ResponseError::TooLarge`] past it). Interim
    /// 1xx answers before the final one are skipped.
    pub fn parse_response(&self, buf: &[u8], limits: &Limits) -> Result<Parsed<Response>, Error> {
        self.parse_response_until(buf, limits, true)
    }

    /// [`parse_response`](Self::parse_response) for a reader that can tell
    /// whether the connection has ended: a rejection whose body is delimited
    /// by the connection closing (RFC 9112 §6.3) is complete only `at_eof`.
    pub(crate) fn parse_response_until(
        &self,
        buf: &[u8],
        limits: &Limits,
        at_eof: bool,
    ) -> Result<Parsed<Response>, Error> {
        let window = &buf[..buf.len().min(limits.max_size)];
        // Needing bytes beyond a full window means the limit is exceeded.
        let need_more = || {
            if window.len() >= limits.max_size {
                Err(Error::Response(ResponseError::TooLarge {
                    limit: limits.max_size,
                }))
            } else {
                Ok(Parsed::Partial)
            }
        };
        // Interim answers (100 Continue, 103 Early Hints) may come before
        // the final one and are skipped (RFC 9110 §15.2); `start` is where
        // the next head begins.
        let mut start = 0;
        let (status, reason, headers, len) = loop {
            let head = with_header_slots(limits, |slots| {
                let mut res = httparse::Response::new(slots);
                match res.parse(&window[start..]) {
                    Ok(httparse::Status::Complete(len)) => Ok(Some((
                        res.code.unwrap_or_default(),
                        res.reason.unwrap_or_default().to_owned(),
                        res.headers
                            .iter()
                            .map(Header::from_httparse)
                            .collect::<Vec<_>>(),
                        len,
                    ))),
                    Ok(httparse::Status::Partial) => Ok(None),
                    Err(httparse::Error::TooManyHeaders) => {
                        Err(Error::Response(ResponseError::TooManyHeaders {
                            limit: limits.max_headers,
                        }))
                    }
                    Err(e) => Err(Error::Response(ResponseError::Malformed(e))),
                }
            })?;
            let Some((status, reason, headers, len)) = head else {
                return need_more();
            };
            if (100..200).contains(&status) && status != 101 {
                start += len;
                continue;
            }
            break (status, reason, headers, start + len);
        };

        if status != 101 {
            // What the limit leaves for the body once the head is in.
            let room = limits.max_size - len;
            let too_large = Error::Response(ResponseError::TooLarge {
                limit: limits.max_size,
            });
            // Head and body together stay within the limit, also a body
            // that runs until the close (the window hides what is past it).
            if close_delimited(status, &headers) && buf.len() > limits.max_size {
                return Err(too_large);
            }
            let Some(body) = read_body(status, &headers, &window[len..], room, at_eof)
                .map_err(|e| e.unwrap_or(too_large))?
            else {
                // A body that ends with the connection may fill the window
                // exactly and still be whole: too large only past it.
                if close_delimited(status, &headers) && buf.len() <= limits.max_size {
                    return Ok(Parsed::Partial);
                }
                return need_more();
            };
            return Err(Error::Rejected(Box::new(Rejection {
                status,
                reason,
                headers,
                body,
            })));
        }
        let response = self.check_101(headers)?;
        Ok(Parsed::Complete(response, len))
    }

    /// RFC 6455 §4.1, the checks on a 101 answer, in the RFC's order. The
    /// response rules are stricter than the request's: `Upgrade` must
    /// *match* `websocket`, not merely list it.
    pub(crate) fn check_101(&self, list: Vec<Header>) -> Result<Response, Error> {
        let upgrade = match headers::count(&list, "Upgrade") {
            0 => return Err(Error::Response(ResponseError::MissingUpgrade)),
            1 => headers::find(&list, "Upgrade").unwrap_or_default(),
            _ => {
                return Err(Error::Response(ResponseError::DuplicateHeader {
                    name: "Upgrade",
                }))
            }
        };
        if !upgrade.eq_ignore_ascii_case(b"websocket") {
            return Err(Error::Response(ResponseError::InvalidUpgrade {
                value: String::from_utf8_lossy(upgrade).into_owned(),
            }));
        }
        if !has_token(&list, "Connection", "upgrade") {
            return Err(Error::Response(ResponseError::MissingConnectionUpgrade));
        }
        let found = match headers::count(&list, "Sec-WebSocket-Accept") {
            0 => return Err(Error::Response(ResponseError::MissingAccept)),
            1 => headers::find(&list, "Sec-WebSocket-Accept").unwrap_or_default(),
            _ => {
                return Err(Error::Response(ResponseError::DuplicateHeader {
                    name: "Sec-WebSocket-Accept",
                }))
            }
        };
        if found != accept_key(self.key.as_bytes()).as_bytes() {
            return Err(Error::Response(ResponseError::WrongAccept {
                found: String::from_utf8_lossy(found).into_owned(),
            }));
        }
        // A 1xx has no content (RFC 9110 §15.2): what follows is frames.
        let announces_body = headers::count(&list, "Transfer-Encoding") > 0
            || headers::find_all(&list, "Content-Length").any(|v| v != b"0");
        if announces_body {
            return Err(Error::Response(ResponseError::HasBody));
        }
        self.check_agreed(101, list)
    }

    /// The checks an accepting answer gets over either HTTP version
    /// (RFC 6455 §4.1 response checks 5 and 6): only offered extensions,
    /// with parameters that fit the offer sent, and at most one offered
    /// subprotocol.
    pub(crate) fn check_agreed(&self, status: u16, list: Vec<Header>) -> Result<Response, Error> {
        // `extension-list = 1#extension`: an empty field is malformed.
        if headers::find_all(&list, "Sec-WebSocket-Extensions").any(<[u8]>::is_empty) {
            return Err(Error::Response(ResponseError::InvalidExtensions(
                super::extensions::ExtensionParseError::Empty,
            )));
        }
        let extensions = extension_list(&list).map_err(ResponseError::InvalidExtensions)?;
        let offered = self.extensions.as_ref().map_or(&[][..], |(_, o)| o);
        if let Some(e) = extensions
            .iter()
            .find(|e| !offered.iter().any(|o| o.name.eq_ignore_ascii_case(&e.name)))
        {
            return Err(Error::Response(ResponseError::ExtensionNotOffered {
                name: e.name.clone(),
            }));
        }
        let agreed = crate::Extensions::client_agreed(&extensions, offered)?;
        // Anything agreed that no code here runs must fail now, not on the
        // first frame that uses it.
        if let Some(e) = extensions.iter().find(|e| !agreed.runs(&e.name)) {
            return Err(Error::Build(BuildError::ExtensionNotEnabled {
                name: e.name.clone(),
            }));
        }

        // `Sec-WebSocket-Protocol = token` in a response (RFC 6455 §4.3):
        // one field, one token, never empty.
        let protocol = match headers::count(&list, "Sec-WebSocket-Protocol") {
            0 => None,
            1 => {
                let mut protocols = protocol_list(&list)
                    .map_err(|value| ResponseError::InvalidProtocol { value })?;
                match protocols.len() {
                    0 => {
                        return Err(Error::Response(ResponseError::InvalidProtocol {
                            value: String::new(),
                        }))
                    }
                    1 => protocols.pop(),
                    _ => return Err(Error::Response(ResponseError::MultipleProtocols)),
                }
            }
            _ => return Err(Error::Response(ResponseError::MultipleProtocols)),
        };
        if let Some(p) = &protocol {
            if !self.protocols.contains(p) {
                return Err(Error::Response(ResponseError::ProtocolNotOffered {
                    protocol: p.clone(),
                }));
            }
        }

        Ok(Response {
            status,
            headers: list,
            protocol,
            extensions,
            agreed,
        })
    }
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// The body of a rejection, from the bytes after its head (already bounded by
/// the caller's window); `None` while more bytes are needed (RFC 7230 §3.3.3).
///
/// A body announced as longer than `room` is refused at once rather than
/// waited for: that is the `Err(None)` case.
fn read_body(
    status: u16,
    list: &[Header],
    data: &[u8],
    room: usize,
    at_eof: bool,
) -> Result<Option<Vec<u8>>, Option<Error>> {
    // A body that runs until the connection closes is whole only then.
    let until_close = || Ok(at_eof.then(|| data.to_vec()));
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Some(Vec::new()));
    }
    if headers::count(list, "Transfer-Encoding") > 0 {
        let chunked = headers::list_elements(list, "Transfer-Encoding")
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        // Any other coding is delimited by the connection closing.
        return if chunked {
            dechunk(data, room)
        } else {
            until_close()
        };
    }
    if headers::count(list, "Content-Length") > 0 {
        let mut lengths = headers::list_elements(list, "Content-Length");
        let first = lengths.next().unwrap_or_default();
        // Repeats are only allowed when identical (RFC 7230 §3.3.2).
        if first.is_empty() || !first.iter().all(u8::is_ascii_digit) || lengths.any(|l| l != first)
        {
            return Err(Some(Error::Response(ResponseError::MalformedBody {
                reason: "invalid Content-Length",
            })));
        }
        // Too many digits for usize is simply more than the window can hold.
        let length = std::str::from_utf8(first)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        if length > room {
            return Err(None);
        }
        return Ok(data.get(..length).map(<[u8]>::to_vec));
    }
    until_close()
}

/// Whether a rejection's body runs until the connection closes: neither
/// chunked nor sized, and allowed a body at all (RFC 9112 §6.3).
fn close_delimited(status: u16, list: &[Header]) -> bool {
    let bodiless = (100..200).contains(&status) || status == 204 || status == 304;
    let chunked = headers::list_elements(list, "Transfer-Encoding")
        .last()
        .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
    !bodiless && !chunked && headers::count(list, "Content-Length") == 0
}

/// Decodes a chunked body (RFC 7230 §4.1); trailer fields are skipped. Errors
/// as in [`read_body`].
fn dechunk(data: &[u8], room: usize) -> Result<Option<Vec<u8>>, Option<Error>> {
    const BAD_SIZE: Option<Error> = Some(Error::Response(ResponseError::MalformedBody {
        reason: "invalid chunk size line",
    }));
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let rest = &data[pos..];
        let (line, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(parsed)) => parsed,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(BAD_SIZE),
        };
        // httparse takes an empty size line as 0; the grammar needs a digit.
        if !rest.first().is_some_and(u8::is_ascii_hexdigit) {
            return Err(BAD_SIZE);
        }
        pos += line;
        if size == 0 {
            break;
        }
        let end = usize::try_from(size)
            .ok()
            .and_then(|size| pos.checked_add(size))
            .filter(|&end| end <= room)
            .ok_or(None)?;
        let Some(chunk) = data.get(pos..end) else {
            return Ok(None);
        };
        body.extend_from_slice(chunk);
        pos += chunk.len();
        match data.get(pos..pos + 2) {
            None if data.len() - pos < 2 && data[pos..] == b"\r\n"[..data.len() - pos] => {
                return Ok(None)
            }
            Some(b"\r\n") => pos += 2,
            _ => {
                return Err(Some(Error::Response(ResponseError::MalformedBody {
                    reason: "chunk data not followed by CRLF",
                })))
            }
        }
    }
    // Trailer section: field lines up to an empty line.
    loop {
        let rest = &data[pos..];
        if rest.starts_with(b"\r\n") {
            return Ok(Some(body));
        }
        match rest.windows(2).position(|w| w == b"\r\n") {
            Some(end) => pos += end + 2,
            None => return Ok(None),
        }
    }
}

/// A server's accepted opening handshake, checked against the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<Header>,
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
    agreed: crate::Extensions,
}

impl Response {
    /// The status code: 101 over HTTP/1.1, 200 over HTTP/2 (RFC 8441 §5).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every header of the response, in order.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The first header called `name` (ASCII case-insensitive), if its value
    /// is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::find(&self.headers, name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The subprotocol the server selected, if any (one of those offered).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions the server accepted, with their parameters, in order
    /// (each named in the offer).
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The extensions agreed, checked against the offer sent; the
    /// connection runs exactly these.
    pub fn agreed_extensions(&self) -> &crate::Extensions {
        &self.agreed
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_request, AcceptOptions};
    use super::*;

    fn url(u: &str) -> ClientRequest {
        ClientRequest::new(u).unwrap_or_else(|e| panic!("{u}: {e}"))
    }

    fn url_err(u: &str) -> BuildError {
        ClientRequest::new(u).expect_err(u)
    }

    /// A correct 101 for `req` with `extra` header lines.
    fn ok_101(req: &ClientRequest, extra: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            accept_key(req.key().as_bytes())
        )
        .into_bytes()
    }

    fn parse(req: &ClientRequest, bytes: &[u8]) -> Result<Parsed<Response>, Error> {
        req.parse_response(bytes, &Limits::default())
    }

    fn rejection(req: &ClientRequest, bytes: &[u8]) -> Rejection {
        match parse(req, bytes) {
            Err(Error::Rejected(r)) => *r,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn url_parsing() {
        let r = url("ws://Example.COM/chat?x=1&y=%20");
        assert_eq!(
            (r.host(), r.port(), r.is_tls(), r.path()),
            ("example.com", 80, false, "/chat?x=1&y=%20")
        );
        assert_eq!(r.host_header(), "example.com");
        let r = url("WSS://example.com");
        assert_eq!((r.port(), r.is_tls(), r.path()), (443, true, "/"));
        let r = url("wss://example.com:443?q");
        assert_eq!(
            (r.port(), r.path(), r.host_header().as_str()),
            (443, "/?q", "example.com")
        );
        let r = url("ws://localhost:9001/");
        assert_eq!(
            (r.port(), r.host_header().as_str()),
            (9001, "localhost:9001")
        );
        let r = url("ws://127.0.0.1:80");
        assert_eq!(r.host_header(), "127.0.0.1");
        let r = url("ws://[::1]:9001/p");
        assert_eq!((r.host(), r.port(), r.path()), ("::1", 9001, "/p"));
        assert_eq!(r.host_header(), "[::1]:9001");
        let r = url("wss://[2001:DB8::1]");
        assert_eq!(
            (r.host(), r.host_header().as_str()),
            ("2001:db8::1", "[2001:db8::1]")
        );
        let r = url("ws://h:/");
        assert_eq!(r.port(), 80);
        assert_eq!(url("ws://h:65535").port(), 65535);
    }

    #[test]
    fn url_errors() {
        use UrlError as U;
        let cases = [
            (
                "example.com/chat",
                Error::Build(BuildError::InvalidUrl(U::MissingScheme)),
            ),
            (
                "://h",
                Error::Build(BuildError::InvalidUrl(U::MissingScheme)),
            ),
            (
                "ws:/h",
                Error::Build(BuildError::InvalidUrl(U::MissingScheme)),
            ),
            (
                "ws:///path",
                Error::Build(BuildError::InvalidUrl(U::MissingHost)),
            ),
            (
                "ws://",
                Error::Build(BuildError::InvalidUrl(U::MissingHost)),
            ),
            (
                "ws://:80",
                Error::Build(BuildError::InvalidUrl(U::MissingHost)),
            ),
            (
                "ws://h/#frag",
                Error::Build(BuildError::InvalidUrl(U::Fragment)),
            ),
            ("ws://h#", Error::Build(BuildError::InvalidUrl(U::Fragment))),
            (
                "ws://user:pw@h/",
                Error::Build(BuildError::InvalidUrl(U::UserInfo)),
            ),
            (
                "ws://h:0",
                Error::Build(BuildError::InvalidUrl(U::InvalidPort)),
            ),
            (
                "ws://h:65536",
                Error::Build(BuildError::InvalidUrl(U::InvalidPort)),
            ),
            (
                "ws://h:+80",
                Error::Build(BuildError::InvalidUrl(U::InvalidPort)),
            ),
            (
                "ws://h:123456",
                Error::Build(BuildError::InvalidUrl(U::InvalidPort)),
            ),
            (
                "ws://h:1:2",
                Error::Build(BuildError::InvalidUrl(U::InvalidPort)),
            ),
            (
                "ws://[::1",
                Error::Build(BuildError::InvalidUrl(U::InvalidIpv6)),
            ),
            (
                "ws://[not-ip]:1",
                Error::Build(BuildError::InvalidUrl(U::InvalidIpv6)),
            ),
            (
                "ws://[fe80::1%25eth0]",
                Error::Build(BuildError::InvalidUrl(U::InvalidIpv6)),
            ),
            (
                "ws://[::1]x",
                Error::Build(BuildError::InvalidUrl(U::InvalidHost)),
            ),
            (
                "ws://h!st/",
                Error::Build(BuildError::InvalidUrl(U::InvalidHost)),
            ),
            (
                "ws://h/a b",
                Error::Build(BuildError::InvalidUrl(U::InvalidCharacter)),
            ),
            (
                "ws://h/\u{e9}",
                Error::Build(BuildError::InvalidUrl(U::InvalidCharacter)),
            ),
            (
                " ws://h/",
                Error::Build(BuildError::InvalidUrl(U::InvalidCharacter)),
            ),
            (
                "ws://h/\r\nX: y",
                Error::Build(BuildError::InvalidUrl(U::InvalidCharacter)),
            ),
            (
                "http://h/",
                Error::Build(BuildError::UnsupportedScheme {
                    scheme: "http".into(),
                }),
            ),
        ];
        for (u, want) in cases {
            assert_eq!(Error::from(url_err(u)), want, "{u}");
        }
    }

    #[test]
    fn keys_are_random_base64_of_16_bytes() {
        let (a, b) = (url("ws://h"), url("ws://h"));
        assert_ne!(a.key(), b.key());
        let raw = base64::engine::general_purpose::STANDARD
            .decode(a.key())
            .unwrap();
        assert_eq!(raw.len(), 16);
    }

    #[test]
    fn encode_writes_the_request() {
        let r = url("ws://example.com:8080/chat?a=b")
            .protocols(["chat", "superchat"])
            .unwrap()
            .extensions("permessage-deflate; client_max_window_bits ")
            .unwrap()
            .header("Origin", "http://example.com")
            .unwrap();
        let want = format!(
            "GET /chat?a=b HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Origin: http://example.com\r\n\r\n",
            r.key()
        );
        assert_eq!(String::from_utf8(r.encode()).unwrap(), want);
    }

    #[test]
    fn builders_refuse_bad_input() {
        assert_eq!(
            url("ws://h").protocol("a b").unwrap_err(),
            BuildError::InvalidProtocol {
                value: "a b".into()
            }
        );
        assert!(url("ws://h").protocols([""]).is_err());
        assert!(matches!(
            url("ws://h").extensions("a;").unwrap_err(),
            BuildError::InvalidExtensions(_)
        ));
        assert!(matches!(
            url("ws://h").extensions("a\r\nX: 1").unwrap_err(),
            BuildError::InvalidExtensions(_)
        ));
        assert_eq!(
            url("ws://h").header("X-A", "1\r\nX-B: 2").unwrap_err(),
            BuildError::InvalidHeader { name: "X-A".into() }
        );
        assert_eq!(
            url("ws://h").header("X A", "1").unwrap_err(),
            BuildError::InvalidHeader { name: "X A".into() }
        );
        assert_eq!(
            url("ws://h").header("sec-websocket-key", "1").unwrap_err(),
            BuildError::ReservedHeader {
                name: "sec-websocket-key".into()
            }
        );
    }

    #[test]
    fn round_trip_with_the_server() {
        let client = url("ws://localhost:9001/echo?x")
            .protocols(["v2.chat", "chat"])
            .unwrap()
            .extensions("permessage-deflate; client_max_window_bits, x-other")
            .unwrap()
            .header("Origin", "http://localhost")
            .unwrap();
        let request_bytes = client.encode();
        let Ok(Parsed::Complete(request, n)) = parse_request(&request_bytes, &Limits::default())
        else {
            panic!("server refused the client's request");
        };
        assert_eq!(n, request_bytes.len());
        assert_eq!(request.path(), "/echo?x");
        assert_eq!(request.host(), "localhost:9001");
        assert_eq!(request.origin(), Some("http://localhost"));
        assert_eq!(request.protocols(), ["v2.chat", "chat"]);
        assert_eq!(request.extensions().len(), 2);

        let mut answer = request
            .accept(
                &AcceptOptions::default()
                    .protocol("chat")
                    .header("X-Server", "test"),
                &crate::Config::default(),
            )
            .unwrap()
            .encode();
        let head_len = answer.len();
        answer.extend_from_slice(&[0x81, 0x00]); // a frame sent right away

        // Byte by byte: partial until the head is complete.
        for end in 0..head_len {
            assert_eq!(parse(&client, &answer[..end]), Ok(Parsed::Partial), "{end}");
        }
        let Ok(Parsed::Complete(response, consumed)) = parse(&client, &answer) else {
            panic!("client refused the server's answer");
        };
        assert_eq!(consumed, head_len);
        assert_eq!(&answer[consumed..], [0x81, 0x00]);
        assert_eq!(response.status(), 101);
        assert_eq!(response.protocol(), Some("chat"));
        assert_eq!(response.header("x-server"), Some("test"));
        // No deflate config on the server: nothing agreed, nothing named.
        assert_eq!(response.headers().len(), 5);
        assert!(response.extensions().is_empty());
        assert!(response.agreed_extensions().is_empty());
    }

    #[test]
    fn response_case_insensitive_and_lists() {
        let req = url("ws://h").protocol("chat").unwrap();
        let bytes = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n\
             CONNECTION: keep-alive, upgrade\r\nsec-websocket-accept: {}\r\n\
             sec-websocket-protocol: chat\r\n\r\n",
            accept_key(req.key().as_bytes())
        );
        assert!(matches!(
            parse(&req, bytes.as_bytes()),
            Ok(Parsed::Complete(r, _)) if r.protocol() == Some("chat")
        ));
    }

    #[test]
    fn response_check_errors() {
        let req = url("ws://h")
            .protocols(["a", "b"])
            .unwrap()
            .extensions("permessage-deflate")
            .unwrap();
        let accept = accept_key(req.key().as_bytes());
        let head = |lines: &str| format!("HTTP/1.1 101 Switching Protocols\r\n{lines}\r\n");
        let cases = [
            (
                head(&format!("Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n")),
                Error::Response(ResponseError::MissingUpgrade),
            ),
            (
                head(&format!(
                    "Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
                )),
                Error::Response(ResponseError::InvalidUpgrade { value: "h2c".into() }),
            ),
            (
                head(&format!("Upgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n")),
                Error::Response(ResponseError::MissingConnectionUpgrade),
            ),
            (
                head("Upgrade: websocket\r\nConnection: Upgrade\r\n"),
                Error::Response(ResponseError::MissingAccept),
            ),
            (
                head("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
                Error::Response(ResponseError::WrongAccept {
                    found: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into(),
                }),
            ),
            (
                head(&format!(
                    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\
                     Sec-WebSocket-Accept: {accept}\r\n"
                )),
                Error::Response(ResponseError::DuplicateHeader {
                    name: "Sec-WebSocket-Accept",
                }),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(parse(&req, bytes.as_bytes()), Err(want), "{bytes}");
        }

        let with = |extra: &str| ok_101(&req, extra);
        assert_eq!(
            parse(&req, &with("Sec-WebSocket-Protocol: c\r\n")),
            Err(Error::Response(ResponseError::ProtocolNotOffered {
                protocol: "c".into()
            }))
        );
        assert_eq!(
            parse(&req, &with("Sec-WebSocket-Protocol: a, b\r\n")),
            Err(Error::Response(ResponseError::MultipleProtocols))
        );
        assert_eq!(
            parse(
                &req,
                &with("Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: a\r\n")
            ),
            Err(Error::Response(ResponseError::MultipleProtocols))
        );
        assert_eq!(
            parse(&req, &with("Sec-WebSocket-Protocol: a b\r\n")),
            Err(Error::Response(ResponseError::InvalidProtocol {
                value: "a b".into()
            }))
        );
        assert_eq!(
            parse(&req, &with("Sec-WebSocket-Extensions: x-compress\r\n")),
            Err(Error::Response(ResponseError::ExtensionNotOffered {
                name: "x-compress".into()
            }))
        );
        assert!(matches!(
            parse(
                &req,
                &with("Sec-WebSocket-Extensions: permessage-deflate;\r\n")
            ),
            Err(Error::Response(ResponseError::InvalidExtensions(_)))
        ));
        assert!(matches!(
            parse(
                &req,
                &with("Sec-WebSocket-Extensions: PerMessage-Deflate\r\n")
            ),
            Ok(Parsed::Complete(..))
        ));
        // Nothing offered: no subprotocol or extension may come back.
        let bare = url("ws://h");
        assert_eq!(
            parse(&bare, &ok_101(&bare, "Sec-WebSocket-Protocol: a\r\n")),
            Err(Error::Response(ResponseError::ProtocolNotOffered {
                protocol: "a".into()
            }))
        );
        assert_eq!(
            parse(
                &bare,
                &ok_101(&bare, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
            ),
            Err(Error::Response(ResponseError::ExtensionNotOffered {
                name: "permessage-deflate".into()
            }))
        );
    }

    #[test]
    fn malformed_and_oversized_responses() {
        let req = url("ws://h");
        assert!(matches!(
            parse(&req, b"HTTP/1.1 10x Nope\r\n\r\n"),
            Err(Error::Response(ResponseError::Malformed(_)))
        ));
        assert!(matches!(
            parse(&req, b"GET / HTTP/1.1\r\n\r\n"),
            Err(Error::Response(ResponseError::Malformed(_)))
        ));
        let small = Limits {
            max_size: 20,
            max_headers: 64,
        };
        assert_eq!(
            req.parse_response(&ok_101(&req, ""), &small),
            Err(Error::Response(ResponseError::TooLarge { limit: 20 }))
        );
        assert_eq!(
            req.parse_response(b"HTTP/1.1 101 Swi", &small),
            Ok(Parsed::Partial)
        );
        let few = Limits {
            max_size: 8192,
            max_headers: 2,
        };
        assert_eq!(
            req.parse_response(&ok_101(&req, ""), &few),
            Err(Error::Response(ResponseError::TooManyHeaders { limit: 2 }))
        );
    }

    #[test]
    fn rejection_with_content_length() {
        let req = url("ws://h");
        let bytes = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nnope!extra";
        let head = bytes.len() - 10;
        for end in 0..head + 5 {
            assert_eq!(parse(&req, &bytes[..end]), Ok(Parsed::Partial), "{end}");
        }
        let r = rejection(&req, bytes);
        assert_eq!((r.status, r.reason.as_str()), (403, "Forbidden"));
        assert_eq!(r.body, b"nope!");
        assert_eq!(r.headers.len(), 2);

        // Too large a body for the limit is refused, not waited for.
        let big = b"HTTP/1.1 500 Oops\r\nContent-Length: 9000\r\n\r\nabc";
        assert_eq!(
            parse(&req, big),
            Err(Error::Response(ResponseError::TooLarge { limit: 8192 }))
        );
        let huge = b"HTTP/1.1 500 Oops\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert_eq!(
            parse(&req, huge),
            Err(Error::Response(ResponseError::TooLarge { limit: 8192 }))
        );
        // Exactly filling the limit is fine.
        let head = b"HTTP/1.1 500 Oops\r\nContent-Length: 8149\r\n\r\n";
        let mut exact = head.to_vec();
        exact.resize(head.len() + 8149, b'x');
        assert_eq!(exact.len(), 8192);
        assert_eq!(parse(&req, &exact[..8191]), Ok(Parsed::Partial));
        assert_eq!(rejection(&req, &exact).body.len(), 8149);

        for bad in ["abc", "5, 6", "-1", ""] {
            let bytes = format!("HTTP/1.1 400 Bad\r\nContent-Length: {bad}\r\n\r\nhello");
            assert_eq!(
                parse(&req, bytes.as_bytes()),
                Err(Error::Response(ResponseError::MalformedBody {
                    reason: "invalid Content-Length"
                })),
                "{bad}"
            );
        }
        let same = b"HTTP/1.1 400 Bad\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(rejection(&req, same).body, b"hi");
    }

    #[test]
    fn rejection_chunked() {
        let req = url("ws://h");
        let bytes = b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n\
            4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\nrest";
        let total = bytes.len() - 4;
        for end in 0..total {
            assert_eq!(parse(&req, &bytes[..end]), Ok(Parsed::Partial), "{end}");
        }
        let r = rejection(&req, bytes);
        assert_eq!(r.status, 401);
        assert_eq!(r.body, b"Wikipedia in \r\n\r\nchunks.");

        for bad in ["\r\n", "zz\r\n", "4\r\nWikiXX0\r\n\r\n"] {
            let bytes = format!("HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n{bad}");
            assert!(
                matches!(
                    parse(&req, bytes.as_bytes()),
                    Err(Error::Response(ResponseError::MalformedBody { .. }))
                ),
                "{bad:?}"
            );
        }
        // A chunk bigger than the limit is refused at once.
        let big = b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\nfffff\r\n";
        assert_eq!(
            parse(&req, big),
            Err(Error::Response(ResponseError::TooLarge { limit: 8192 }))
        );
        let huge = b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n";
        assert_eq!(
            parse(&req, huge),
            Err(Error::Response(ResponseError::TooLarge { limit: 8192 }))
        );
        // Small chunks that never end run into the limit too.
        let mut endless = b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        while endless.len() < 9000 {
            endless.extend_from_slice(b"1\r\na\r\n");
        }
        assert_eq!(
            parse(&req, &endless),
            Err(Error::Response(ResponseError::TooLarge { limit: 8192 }))
        );
    }

    #[test]
    fn rejection_without_length() {
        let req = url("ws://h");
        let r = rejection(
            &req,
            b"HTTP/1.1 404 Not Found\r\nServer: x\r\n\r\npartial bo",
        );
        assert_eq!(r.body, b"partial bo");
        let r = rejection(&req, b"HTTP/1.0 503 Busy\r\n\r\n");
        assert_eq!((r.status, r.body.as_slice()), (503, &b""[..]));
        // Another transfer coding: read until close, so take what is there.
        let r = rejection(
            &req,
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b",
        );
        assert_eq!(r.body, b"\x1f\x8b");
        // Statuses that never have a body.
        let r = rejection(
            &req,
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        );
        assert!(r.body.is_empty());
        let r = rejection(&req, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert_eq!(r.body, b"ok");
        // Head and body are bounded together: past the limit the answer
        // is too large, never a silently cut body; up to it, whole.
        let mut long = b"HTTP/1.1 500 E\r\n\r\n".to_vec();
        long.resize(20_000, b'z');
        assert_eq!(
            parse(&req, &long),
            Err(Error::Response(ResponseError::TooLarge { limit: 8192 }))
        );
        long.truncate(8192);
        assert_eq!(rejection(&req, &long).body.len(), 8192 - 18);
    }

    #[test]
    fn server_refusal_is_read_as_rejection() {
        let req = url("ws://h");
        let refusal = crate::handshake::RequestError::UnsupportedVersion {
            offered: "8".into(),
        }
        .response();
        let r = rejection(&req, &refusal);
        assert_eq!(r.status, 426);
        assert_eq!(
            headers::find(&r.headers, "sec-websocket-version"),
            Some(&b"13"[..])
        );
        assert!(String::from_utf8(r.body).unwrap().contains("§4.2.1 item 6"));
    }
}
