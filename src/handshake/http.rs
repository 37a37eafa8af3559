//! The handshake on `http` types (feature `http`), for requests and
//! responses another HTTP stack (hyper, axum, h2) parses and writes: the
//! same rules as on bytes, for HTTP/1.1 Upgrade and HTTP/2 extended
//! CONNECT (RFC 8441).

use super::client::{ClientRequest, Response};
use super::error::{Error, Rejection, RequestError, ResponseError};
use super::headers::{trim_ows, Header};
use super::refusal::Refusal;
use super::server::{validate, Accepted, Head, HttpVersion, Request};

/// The fields of a `HeaderMap`, in order, as the parsers keep them.
fn fields(map: &http::HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(name, value)| Header {
            name: name.as_str().to_owned(),
            value: trim_ows(value.as_bytes()).to_vec(),
        })
        .collect()
}

/// `:protocol` as the HTTP/2 stacks this crate knows store it in a
/// request's extensions.
fn protocol_extension(extensions: &http::Extensions) -> Option<&str> {
    #[cfg(feature = "hyper")]
    if let Some(p) = extensions.get::<hyper::ext::Protocol>() {
        return Some(p.as_str());
    }
    #[cfg(feature = "h2")]
    if let Some(p) = extensions.get::<h2::ext::Protocol>() {
        return Some(p.as_str());
    }
    let _ = extensions;
    None
}

/// The parts of a request head the handshake reads.
struct HttpHead<'a> {
    method: &'a http::Method,
    uri: &'a http::Uri,
    version: http::Version,
    headers: &'a http::HeaderMap,
}

impl Request {
    /// Validates a request head another HTTP stack parsed: an HTTP/1.1
    /// `GET` with `Upgrade: websocket` (RFC 6455 §4.2.1), or an HTTP/2
    /// extended `CONNECT` with `:protocol websocket` (RFC 8441 §4).
    ///
    /// `:protocol` is read from the request's extensions where hyper
    /// (feature `hyper`) or h2 (feature `h2`) put it; for another stack use
    /// [`Request::from_http_with_protocol`]. The checks and errors are those
    /// of [`parse_request`](super::parse_request); answer an error with
    /// [`Error::to_http`].
    ///
    /// ```
    /// use rfc6455::handshake::{HttpVersion, Request};
    ///
    /// let (parts, ()) = http::Request::get("/chat?room=1")
    ///     .header("host", "example.com")
    ///     .header("upgrade", "websocket")
    ///     .header("connection", "Upgrade")
    ///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    ///     .header("sec-websocket-version", "13")
    ///     .body(())?
    ///     .into_parts();
    /// let request = Request::from_http(&parts)?;
    /// assert_eq!((request.path(), request.version()), ("/chat?room=1", HttpVersion::Http11));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_http(parts: &http::request::Parts) -> Result<Request, RequestError> {
        Request::from_http_with_protocol(parts, protocol_extension(&parts.extensions))
    }

    /// As [`Request::from_http`], on a whole request (its body is not
    /// looked at).
    pub fn from_http_request<B>(request: &http::Request<B>) -> Result<Request, RequestError> {
        let head = HttpHead {
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
        };
        Request::from_http_head(head, protocol_extension(request.extensions()))
    }

    /// As [`Request::from_http`], with HTTP/2's `:protocol` given by the
    /// caller (ignored for HTTP/1.x).
    pub fn from_http_with_protocol(
        parts: &http::request::Parts,
        protocol: Option<&str>,
    ) -> Result<Request, RequestError> {
        let head = HttpHead {
            method: &parts.method,
            uri: &parts.uri,
            version: parts.version,
            headers: &parts.headers,
        };
        Request::from_http_head(head, protocol)
    }

    fn from_http_head(http: HttpHead<'_>, protocol: Option<&str>) -> Result<Request, RequestError> {
        if http.version == http::Version::HTTP_3 {
            return Err(RequestError::Http3NotSupported);
        }
        let headers = fields(http.headers);
        let head = if http.version == http::Version::HTTP_2 {
            Head {
                version: HttpVersion::Http2,
                method: http.method.as_str().to_owned(),
                target: http
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
                http10: false,
                protocol: protocol.map(str::to_owned),
                authority: http.uri.authority().map(|a| a.as_str().to_owned()),
                headers,
            }
        } else {
            Head {
                version: HttpVersion::Http11,
                method: http.method.as_str().to_owned(),
                // Origin or absolute form, as received.
                target: http.uri.to_string(),
                http10: http.version < http::Version::HTTP_11,
                protocol: None,
                authority: None,
                headers,
            }
        };
        validate(head)
    }
}

impl Accepted {
    /// The answer as an `http::Response` with an empty body: `101` with
    /// `Upgrade`, `Connection` and `Sec-WebSocket-Accept` over HTTP/1.1,
    /// `200` over HTTP/2 (RFC 8441 §5), plus the subprotocol, extensions
    /// and extra headers.
    pub fn to_http<B: Default>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::default());
        *response.status_mut() = http::StatusCode::from_u16(self.status())
            .unwrap_or(http::StatusCode::SWITCHING_PROTOCOLS);
        let headers = response.headers_mut();
        for (name, value) in self.fields() {
            // `accept` checked every name and value already.
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        response
    }
}

impl Refusal {
    /// The refusal as an `http::Response`: the status (500 if out of
    /// range), the headers that are valid, and the body.
    ///
    /// It says `Connection: close`, as [`encode`](Refusal::encode) does:
    /// after a refused upgrade, bytes the client sent on (frames, or a
    /// request a proxy never saw) must not be read as a next request.
    /// (HTTP/2 stacks drop the field; the stream ends there anyway.)
    pub fn to_http<B: From<Vec<u8>>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body.clone()));
        *response.status_mut() = http::StatusCode::from_u16(self.sent_status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            let ours = ["connection", "content-length", "transfer-encoding"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(name));
            if let (false, Ok(name), Ok(value)) = (
                ours,
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        response
    }
}

impl RequestError {
    /// The refusal for a request that broke this rule, as an
    /// `http::Response`: the bytes of [`RequestError::response`] (its
    /// [`status`](RequestError::status), this error's message as a
    /// `text/plain` body, and `Sec-WebSocket-Version: 13` with a 426).
    pub fn to_http<B: From<Vec<u8>>>(&self) -> http::Response<B> {
        self.refusal().to_http()
    }
}

impl Error {
    /// The answer a server gives when it fails with this error: the
    /// refusal of a [`RequestError`] ([`RequestError::to_http`]); otherwise
    /// 408 for [`Error::Timeout`], the status sent for [`Error::Refused`],
    /// and 500 for anything else, which is the server's own failure
    /// (invalid accept options, [`Error::UpgradeUnavailable`]), with the
    /// error's message as a `text/plain` body.
    pub fn to_http<B: From<Vec<u8>>>(&self) -> http::Response<B> {
        let status = match self {
            Error::Request(e) => return e.to_http(),
            Error::Timeout => 408,
            Error::Refused { status } => *status,
            _ => 500,
        };
        Refusal::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(format!("{self}\n"))
            .to_http()
    }
}

impl ClientRequest {
    /// The request as an HTTP/2 extended CONNECT (RFC 8441 §4): `:method
    /// CONNECT`, `:protocol websocket` (as an `h2::ext::Protocol`
    /// extension), `:scheme`, `:authority`, `:path`, and the same
    /// `Sec-WebSocket-*` and extra headers as over HTTP/1.1, without a key.
    ///
    /// The offer it carries is the one set on this request; to add the one
    /// a [`Config`](crate::Config) enables, use the tokio adapter's
    /// [`h2`](crate::tokio::h2) client, which does.
    #[cfg(feature = "h2")]
    pub fn to_http2(&self) -> http::Request<()> {
        let scheme = if self.is_tls() { "https" } else { "http" };
        let uri = format!("{scheme}://{}{}", self.host_header(), self.path());
        let builder = http::Request::builder()
            .method(http::Method::CONNECT)
            .version(http::Version::HTTP_2)
            .uri(uri)
            .extension(h2::ext::Protocol::from_static("websocket"));
        // Every part was validated when the request was built.
        self.with_offer(builder).body(()).unwrap_or_default()
    }

    /// The request as an HTTP/1.1 `GET` with `Upgrade: websocket`, the key
    /// and the same headers [`encode`](ClientRequest::encode) writes, for a
    /// client stack that speaks HTTP itself (e.g. hyper's client with
    /// `hyper::upgrade::on`).
    pub fn to_http(&self) -> http::Request<()> {
        let scheme = if self.is_tls() { "https" } else { "http" };
        let builder =
            http::Request::get(format!("{scheme}://{}{}", self.host_header(), self.path()))
                .header("host", self.host_header())
                .header("upgrade", "websocket")
                .header("connection", "Upgrade")
                .header("sec-websocket-key", self.key());
        // Every part was validated when the request was built.
        self.with_offer(builder).body(()).unwrap_or_default()
    }

    /// The fields both HTTP versions carry: the version, the offered
    /// subprotocols and extensions, and the caller's headers.
    fn with_offer(&self, mut builder: http::request::Builder) -> http::request::Builder {
        builder = builder.header("sec-websocket-version", "13");
        if !self.protocol_list().is_empty() {
            builder = builder.header("sec-websocket-protocol", self.protocol_list().join(", "));
        }
        if let Some(offer) = self.extensions_offered() {
            builder = builder.header("sec-websocket-extensions", offer);
        }
        for (name, value) in self.extra_headers() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
    }

    /// Checks an answer another HTTP stack parsed: a `101` to
    /// [`to_http`](ClientRequest::to_http) gets every check of RFC 6455
    /// §4.1, a 2xx to [`to_http2`](ClientRequest::to_http2) (RFC 8441 §5)
    /// the subprotocol and extension ones; any other status is
    /// [`Error::Rejected`] (its body, if any, is still to be read).
    pub fn check_http_response(&self, parts: &http::response::Parts) -> Result<Response, Error> {
        let headers = fields(&parts.headers);
        let status = parts.status.as_u16();
        if status == 101 {
            return self.check_101(headers);
        }
        if parts.status.is_success()
            && (parts.headers.contains_key(http::header::CONTENT_LENGTH)
                || parts.headers.contains_key(http::header::TRANSFER_ENCODING))
        {
            // A 2xx to CONNECT has no content: the stream is the tunnel
            // (RFC 9110 §8.6, §9.3.6).
            return Err(Error::Response(ResponseError::HasBody));
        }
        if !parts.status.is_success() {
            return Err(Error::Rejected(Box::new(Rejection {
                status,
                reason: parts
                    .status
                    .canonical_reason()
                    .unwrap_or_default()
                    .to_owned(),
                headers,
                body: Vec::new(),
            })));
        }
        self.check_agreed(status, headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{AcceptOptions, BuildError};
    use crate::Config;

    fn h1() -> http::request::Builder {
        http::Request::get("/ws")
            .header("host", "example.com")
            .header("upgrade", "websocket")
            .header("connection", "keep-alive, Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
    }

    fn h2() -> http::request::Builder {
        http::Request::builder()
            .method("CONNECT")
            .version(http::Version::HTTP_2)
            .uri("https://example.com/ws?room=1")
            .header("sec-websocket-version", "13")
            .header("origin", "https://example.com")
    }

    fn parts(b: http::request::Builder) -> http::request::Parts {
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn http11_parts_validate_like_bytes() {
        let r = Request::from_http(&parts(h1())).unwrap();
        assert_eq!(r.version(), HttpVersion::Http11);
        assert_eq!(r.host(), "example.com");
        let accepted = r
            .accept(&AcceptOptions::default(), &Config::default())
            .unwrap();
        let response: http::Response<()> = accepted.to_http();
        assert_eq!(response.status(), 101);
        assert_eq!(
            response.headers()["sec-websocket-accept"],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            Request::from_http(&parts(h1().header("content-length", "3"))).unwrap_err(),
            RequestError::HasBody
        );
        let old = parts(h1().version(http::Version::HTTP_10));
        assert_eq!(
            Request::from_http(&old).unwrap_err(),
            RequestError::HttpVersionTooOld
        );
        let h3 = parts(h1().version(http::Version::HTTP_3));
        let error = Request::from_http(&h3).unwrap_err();
        assert_eq!(error, RequestError::Http3NotSupported);
        assert_eq!(error.status(), 400);
        let absolute = parts(h1().uri("http://other.test:81/ws?x"));
        let r = Request::from_http(&absolute).unwrap();
        assert_eq!((r.path(), r.host()), ("/ws?x", "other.test:81"));
    }

    #[test]
    fn extended_connect_validates_and_answers_200() {
        let p = parts(h2());
        let r = Request::from_http_with_protocol(&p, Some("websocket")).unwrap();
        assert_eq!(r.version(), HttpVersion::Http2);
        assert_eq!((r.path(), r.host()), ("/ws?room=1", "example.com"));
        assert_eq!(r.key(), None);
        assert_eq!(r.origin(), Some("https://example.com"));
        let response: http::Response<()> = r
            .accept(&AcceptOptions::default(), &Config::default())
            .unwrap()
            .to_http();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("sec-websocket-accept").is_none());
        assert!(response.headers().get("upgrade").is_none());

        for (protocol, want) in [
            (
                None,
                RequestError::InvalidProtocolPseudoHeader { value: None },
            ),
            (
                Some("h3"),
                RequestError::InvalidProtocolPseudoHeader {
                    value: Some("h3".into()),
                },
            ),
        ] {
            assert_eq!(
                Request::from_http_with_protocol(&p, protocol).unwrap_err(),
                want
            );
        }
        let get = parts(h2().method("GET"));
        assert!(matches!(
            Request::from_http_with_protocol(&get, Some("websocket")),
            Err(RequestError::MethodNotConnect { .. })
        ));
        let v8 = parts(
            h2().header("sec-websocket-version", "8"), // a second, different value
        );
        assert!(Request::from_http_with_protocol(&v8, Some("websocket")).is_err());
    }

    #[test]
    fn refusals_as_http() {
        let r: http::Response<Vec<u8>> = RequestError::UnsupportedVersion {
            offered: "8".into(),
        }
        .to_http();
        assert_eq!(r.status(), 426);
        assert_eq!(r.headers()["sec-websocket-version"], "13");
        assert!(String::from_utf8_lossy(r.body()).contains("RFC 6455"));
        let r: http::Response<Vec<u8>> = Refusal::new(403).header("x-why", "origin").to_http();
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["x-why"], "origin");
        let r: http::Response<Vec<u8>> = Refusal::new(101).to_http();
        assert_eq!(r.status(), 500);
        // Nothing after a refused upgrade is read as a next request.
        assert_eq!(r.headers()["connection"], "close");
        let r: http::Response<Vec<u8>> = Refusal::new(403)
            .header("Connection", "keep-alive")
            .to_http();
        assert_eq!(r.headers().get_all("connection").iter().count(), 1);
        assert_eq!(r.headers()["connection"], "close");
        // A server's failures that no request caused, by the same statuses
        // as the handshake machine's.
        let status = |e: Error| e.to_http::<Vec<u8>>().status();
        assert_eq!(status(RequestError::MissingKey.into()), 400);
        assert_eq!(status(Error::Timeout), 408);
        assert_eq!(status(Error::Refused { status: 403 }), 403);
        assert_eq!(status(Error::UpgradeUnavailable), 500);
        let reserved = BuildError::ReservedHeader {
            name: "Upgrade".into(),
        };
        assert_eq!(status(reserved.into()), 500);
    }

    #[test]
    fn client_checks_a_2xx_like_a_101() {
        let request = ClientRequest::new("wss://example.com/ws")
            .unwrap()
            .protocol("chat")
            .unwrap();
        let answer = |status: u16, protocol: &str| {
            http::Response::builder()
                .status(status)
                .header("sec-websocket-protocol", protocol)
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        let ok = request.check_http_response(&answer(200, "chat")).unwrap();
        assert_eq!((ok.status(), ok.protocol()), (200, Some("chat")));
        assert!(matches!(
            request.check_http_response(&answer(200, "other")),
            Err(Error::Response(ResponseError::ProtocolNotOffered { .. }))
        ));
        assert!(matches!(
            request.check_http_response(&answer(403, "chat")),
            Err(Error::Rejected(r)) if r.status == 403
        ));
        // A 2xx to CONNECT has no content (RFC 9110 §8.6).
        for (name, value) in [("content-length", "0"), ("transfer-encoding", "chunked")] {
            let mut parts = answer(200, "chat");
            parts.headers.insert(name, value.parse().unwrap());
            assert_eq!(
                request.check_http_response(&parts).unwrap_err(),
                Error::Response(ResponseError::HasBody)
            );
        }
    }

    #[test]
    fn client_request_as_http11_and_its_101() {
        let request = ClientRequest::new("ws://example.com/ws").unwrap();
        let (parts, ()) = request.to_http().into_parts();
        let server_side = Request::from_http(&parts).unwrap();
        assert_eq!(server_side.key(), Some(request.key()));
        let answer: http::Response<()> = server_side
            .accept(&AcceptOptions::default(), &Config::default())
            .unwrap()
            .to_http();
        let (mut answer, ()) = answer.into_parts();
        assert_eq!(request.check_http_response(&answer).unwrap().status(), 101);
        answer
            .headers
            .insert("sec-websocket-accept", "AAAA".parse().unwrap());
        assert!(matches!(
            request.check_http_response(&answer),
            Err(Error::Response(ResponseError::WrongAccept { .. }))
        ));
    }

    #[cfg(feature = "h2")]
    #[test]
    fn client_request_as_extended_connect() {
        let request = ClientRequest::new("ws://example.com:8080/ws?x")
            .unwrap()
            .protocol("chat")
            .unwrap()
            .header("Origin", "http://example.com")
            .unwrap();
        let r = request.to_http2();
        assert_eq!(r.method(), http::Method::CONNECT);
        assert_eq!(r.uri(), "http://example.com:8080/ws?x");
        assert_eq!(
            r.extensions()
                .get::<h2::ext::Protocol>()
                .map(|p| p.as_str()),
            Some("websocket")
        );
        assert_eq!(r.headers()["sec-websocket-protocol"], "chat");
        assert!(r.headers().get("sec-websocket-key").is_none());
        // And our own server takes it.
        let (parts, ()) = r.into_parts();
        let server_side = Request::from_http(&parts).unwrap();
        assert_eq!(server_side.host(), "example.com:8080");
    }
}
