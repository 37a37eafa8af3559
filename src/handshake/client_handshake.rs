//! The client's opening handshake over HTTP/1.1 bytes as a sans-IO state
//! machine: the request's bytes out, the response's bytes in, a
//! [`Connection`] at the end. Time is an input.

use std::time::Instant;

use super::client::{ClientRequest, Response};
use super::error::Error;
use super::Parsed;
use crate::{Config, Connection, Extensions, Role};

/// What a [`ClientHandshake`] needs next from whoever drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAction {
    /// Write [`transmit`](ClientHandshake::transmit) and report what was
    /// written with [`advance`](ClientHandshake::advance).
    Write,
    /// Read the response and pass it to [`recv`](ClientHandshake::recv) (or
    /// [`recv_eof`](ClientHandshake::recv_eof)).
    Read,
    /// Over: call [`finish`](ClientHandshake::finish).
    Done,
}

/// The client side of the HTTP/1.1 opening handshake (RFC 6455 §4.1), with
/// no I/O and no clock.
///
/// It writes the request (with the extension offer [`Config`] enables, or
/// the caller's own, which may only name extensions the config enables),
/// then checks the answer against exactly what was sent. Wait no longer
/// than [`poll_timeout`](ClientHandshake::poll_timeout) for any read or
/// write, and report the time with
/// [`handle_timeout`](ClientHandshake::handle_timeout).
///
/// ```
/// use std::time::Instant;
/// use rfc6455::handshake::{accept_key, ClientAction, ClientHandshake, ClientRequest};
/// use rfc6455::Config;
///
/// let request = ClientRequest::new("ws://example.com/chat")?;
/// let mut hs = ClientHandshake::new(request, Config::default(), Instant::now())?;
/// assert_eq!(hs.poll_action(), ClientAction::Write);
/// let n = hs.transmit().len();
/// hs.advance(n);
/// assert_eq!(hs.poll_action(), ClientAction::Read);
/// let answer = format!(
///     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
///      Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
///     accept_key(hs.request().key().as_bytes()),
/// );
/// hs.recv(answer.as_bytes());
/// assert_eq!(hs.poll_action(), ClientAction::Done);
/// let (connection, response) = hs.finish()?;
/// assert_eq!(response.status(), 101);
/// # let _ = connection;
/// # Ok::<(), rfc6455::handshake::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientHandshake {
    request: ClientRequest,
    config: Config,
    deadline: Instant,
    out: Vec<u8>,
    buf: Vec<u8>,
    /// The server closed its side.
    eof: bool,
    result: Option<Result<(Box<Connection>, Response), Error>>,
}

impl ClientHandshake {
    /// A handshake for `request` that started at `now` and must be over by
    /// `now + config.handshake_timeout`.
    ///
    /// # Errors
    ///
    /// [`BuildError::ExtensionNotEnabled`](super::BuildError::ExtensionNotEnabled) when the request offers an extension
    /// that `config` does not enable (so the connection could not run it).
    pub fn new(
        request: ClientRequest,
        config: Config,
        now: Instant,
    ) -> Result<ClientHandshake, Error> {
        let request = prepare(request, &config)?;
        Ok(ClientHandshake {
            out: request.encode(),
            deadline: config.handshake_deadline(now),
            request,
            config,
            buf: Vec::new(),
            eof: false,
            result: None,
        })
    }

    /// The request as sent (with the offer the config added).
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// What to do next.
    pub fn poll_action(&mut self) -> ClientAction {
        if !self.out.is_empty() {
            return ClientAction::Write;
        }
        if self.result.is_some() {
            return ClientAction::Done;
        }
        let limits = self.config.handshake_limits;
        self.result = match self
            .request
            .parse_response_until(&self.buf, &limits, self.eof)
        {
            Ok(Parsed::Partial) if self.eof => Some(Err(Error::ClosedDuringHandshake)),
            Ok(Parsed::Partial) => return ClientAction::Read,
            Ok(Parsed::Complete(response, used)) => {
                let mut conn = Connection::with_extensions(
                    Role::Client,
                    self.config.clone(),
                    response.agreed_extensions(),
                );
                conn.recv(&self.buf[used..]);
                if self.eof {
                    conn.recv_eof();
                }
                self.buf = Vec::new();
                Some(Ok((Box::new(conn), response)))
            }
            Err(e) => Some(Err(e)),
        };
        ClientAction::Done
    }

    /// The bytes to write now (empty when there are none).
    pub fn transmit(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`transmit`](Self::transmit) were written.
    pub fn advance(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Bytes read from the server. Bytes after the response head are the
    /// server's first frames and go to the connection.
    pub fn recv(&mut self, data: &[u8]) {
        match &mut self.result {
            Some(Ok((conn, _))) => conn.recv(data),
            Some(Err(_)) => {}
            None => self.buf.extend_from_slice(data),
        }
    }

    /// The server closed the connection: a rejection whose body runs until
    /// the close is now complete, a complete 101 still stands (its
    /// connection sees the end of input), and any other incomplete answer
    /// fails the handshake at the next [`poll_action`](Self::poll_action).
    /// Nothing more is written.
    pub fn recv_eof(&mut self) {
        self.out.clear();
        match &mut self.result {
            Some(Ok((conn, _))) => conn.recv_eof(),
            Some(Err(_)) => {}
            None => self.eof = true,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next;
    /// `None` once done (or once the server closed: the next
    /// [`poll_action`](Self::poll_action) ends it).
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.result.is_none() && !self.eof).then_some(self.deadline)
    }

    /// Reports the time; at the deadline the handshake fails with
    /// [`Error::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.result.is_none() && !self.eof && now >= self.deadline {
            self.out.clear();
            self.result = Some(Err(Error::Timeout));
        }
    }

    /// The outcome once [`poll_action`](Self::poll_action) says
    /// [`ClientAction::Done`]: the connection (holding any frames that
    /// came with the response) and the response.
    ///
    /// # Errors
    ///
    /// The rule the response broke, [`Error::Rejected`] with a non-101
    /// answer, [`Error::Timeout`], [`Error::ClosedDuringHandshake`]; called
    /// before the handshake is done, [`Error::Timeout`].
    pub fn finish(self) -> Result<(Connection, Response), Error> {
        match self.result {
            Some(Ok((conn, response))) if self.out.is_empty() => Ok((*conn, response)),
            Some(Err(e)) => Err(e),
            _ => Err(Error::Timeout),
        }
    }
}

/// `request` with the offer `config` makes, unless the caller made one,
/// which may only name extensions `config` enables.
pub(crate) fn prepare(request: ClientRequest, config: &Config) -> Result<ClientRequest, Error> {
    let caller = request.offered();
    match Extensions::client_offer(caller, config)? {
        Some(offer) => Ok(request.extensions(offer)?),
        None => Ok(request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{accept_key, BuildError, ResponseError};
    use std::time::Duration;

    fn answer(hs: &ClientHandshake, extra: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            accept_key(hs.request().key().as_bytes())
        )
        .into_bytes()
    }

    fn started(request: ClientRequest, config: Config) -> ClientHandshake {
        let mut hs = ClientHandshake::new(request, config, Instant::now()).unwrap();
        assert_eq!(hs.poll_action(), ClientAction::Write);
        let n = hs.transmit().len();
        hs.advance(n);
        assert_eq!(hs.poll_action(), ClientAction::Read);
        hs
    }

    fn outcome(mut hs: ClientHandshake, bytes: &[u8]) -> Result<(Connection, Response), Error> {
        hs.recv(bytes);
        assert_eq!(hs.poll_action(), ClientAction::Done);
        hs.finish()
    }

    #[test]
    fn any_split_of_the_answer_and_frames_after_it() {
        let frame = [0x81, 0x02, b'h', b'i'];
        let request = ClientRequest::new("ws://a/").unwrap();
        let probe = started(request.clone(), Config::default());
        let mut input = answer(&probe, "");
        input.extend_from_slice(&frame);
        for cut in 0..=input.len() {
            let mut hs = started(request.clone(), Config::default());
            hs.recv(&input[..cut]);
            let action = hs.poll_action();
            hs.recv(&input[cut..]);
            if action == ClientAction::Read {
                assert_eq!(hs.poll_action(), ClientAction::Done);
            }
            let (mut conn, response) = hs.finish().unwrap();
            assert_eq!(response.status(), 101);
            assert_eq!(
                conn.poll_event().unwrap(),
                Some(crate::Event::Text("hi".into()))
            );
        }
    }

    #[test]
    fn response_checks_are_strict() {
        let request = ClientRequest::new("ws://a/")
            .unwrap()
            .protocol("chat")
            .unwrap();
        for (extra, want) in [
            (
                "Upgrade: h2c\r\n",
                Error::Response(ResponseError::DuplicateHeader { name: "Upgrade" }),
            ),
            (
                "Sec-WebSocket-Protocol:\r\n",
                Error::Response(ResponseError::InvalidProtocol {
                    value: String::new(),
                }),
            ),
            (
                "Content-Length: 5\r\n",
                Error::Response(ResponseError::HasBody),
            ),
            (
                "Transfer-Encoding: chunked\r\n",
                Error::Response(ResponseError::HasBody),
            ),
        ] {
            let hs = started(request.clone(), Config::default());
            let bytes = answer(&hs, extra);
            assert_eq!(outcome(hs, &bytes).unwrap_err(), want, "{extra:?}");
        }
        // `Upgrade: websocket, h2c` lists websocket but does not match it.
        let hs = started(request.clone(), Config::default());
        let bytes = String::from_utf8(answer(&hs, ""))
            .unwrap()
            .replace("Upgrade: websocket", "Upgrade: websocket, h2c");
        assert_eq!(
            outcome(hs, bytes.as_bytes()).unwrap_err(),
            Error::Response(ResponseError::InvalidUpgrade {
                value: "websocket, h2c".into()
            })
        );
        // Content-Length: 0 announces nothing.
        let hs = started(request, Config::default());
        let bytes = answer(&hs, "Content-Length: 0\r\n");
        assert!(outcome(hs, &bytes).is_ok());
    }

    #[test]
    fn deadline_and_eof() {
        let t0 = Instant::now();
        let config = Config::default().handshake_timeout(Duration::from_secs(2));
        let mut hs =
            ClientHandshake::new(ClientRequest::new("ws://a/").unwrap(), config.clone(), t0)
                .unwrap();
        assert_eq!(hs.poll_timeout(), Some(t0 + Duration::from_secs(2)));
        hs.handle_timeout(t0 + Duration::from_secs(2));
        assert_eq!(hs.poll_action(), ClientAction::Done);
        assert_eq!(hs.poll_timeout(), None);
        assert_eq!(hs.finish().unwrap_err(), Error::Timeout);

        let mut hs = started(ClientRequest::new("ws://a/").unwrap(), config);
        hs.recv(b"HTTP/1.1 101 Swi");
        hs.recv_eof();
        assert_eq!(hs.poll_action(), ClientAction::Done);
        assert_eq!(hs.finish().unwrap_err(), Error::ClosedDuringHandshake);
    }

    #[test]
    fn a_close_delimited_rejection_ends_at_eof_whatever_the_split() {
        let answer = b"HTTP/1.1 403 Forbidden\r\n\r\nnot you";
        for cut in 0..=answer.len() {
            let mut hs = started(ClientRequest::new("ws://a/").unwrap(), Config::default());
            hs.recv(&answer[..cut]);
            hs.poll_action();
            hs.recv(&answer[cut..]);
            assert_eq!(hs.poll_action(), ClientAction::Read, "waits for the close");
            hs.recv_eof();
            assert_eq!(hs.poll_action(), ClientAction::Done);
            match hs.finish() {
                Err(Error::Rejected(r)) => assert_eq!(&r.body[..], b"not you", "cut {cut}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn interim_answers_before_the_101_are_skipped() {
        let hs = started(ClientRequest::new("ws://a/").unwrap(), Config::default());
        let mut bytes =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n".to_vec();
        bytes.extend_from_slice(&answer(&hs, ""));
        bytes.extend_from_slice(&[0x81, 0x01, b'!']);
        let (mut conn, response) = outcome(hs, &bytes).unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(
            conn.poll_event().unwrap(),
            Some(crate::Event::Text("!".into()))
        );
    }

    #[test]
    fn eof_after_a_whole_answer_keeps_it() {
        let mut hs = started(ClientRequest::new("ws://a/").unwrap(), Config::default());
        let bytes = answer(&hs, "");
        hs.recv(&bytes);
        hs.recv_eof(); // before the answer was looked at
        assert_eq!(hs.poll_action(), ClientAction::Done);
        let (mut conn, _) = hs.finish().unwrap();
        // The connection knows the server is gone.
        assert!(conn.poll_event().is_err());
    }

    #[test]
    fn a_close_delimited_rejection_may_fill_the_limit_exactly() {
        let limits = crate::handshake::Limits {
            max_size: 64,
            max_headers: 8,
        };
        let config = Config::default().handshake_limits(limits);
        let head = b"HTTP/1.1 403 Forbidden\r\n\r\n";
        for extra in [0usize, 1] {
            let mut hs = started(ClientRequest::new("ws://a/").unwrap(), config.clone());
            let mut input = head.to_vec();
            input.resize(64 + extra, b'x');
            hs.recv(&input);
            if extra == 0 {
                assert_eq!(hs.poll_action(), ClientAction::Read);
                hs.recv_eof();
                assert_eq!(hs.poll_action(), ClientAction::Done);
                assert!(
                    matches!(hs.finish(), Err(Error::Rejected(r)) if r.body.len() == 64 - head.len())
                );
            } else {
                assert_eq!(hs.poll_action(), ClientAction::Done);
                assert!(matches!(
                    hs.finish(),
                    Err(Error::Response(ResponseError::TooLarge { limit: 64 }))
                ));
                // The same when EOF comes before the bytes were looked at.
                let mut hs = started(ClientRequest::new("ws://a/").unwrap(), config.clone());
                hs.recv(&input);
                hs.recv_eof();
                assert_eq!(hs.poll_action(), ClientAction::Done);
                assert!(matches!(
                    hs.finish(),
                    Err(Error::Response(ResponseError::TooLarge { limit: 64 }))
                ));
            }
        }
    }

    #[test]
    fn rejection_is_reported_whole() {
        let mut hs = started(ClientRequest::new("ws://a/").unwrap(), Config::default());
        hs.recv(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nnot");
        assert_eq!(hs.poll_action(), ClientAction::Read);
        hs.recv(b" you");
        assert_eq!(hs.poll_action(), ClientAction::Done);
        match hs.finish() {
            Err(Error::Rejected(r)) => assert_eq!((r.status, &r.body[..]), (403, &b"not you"[..])),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_offer_the_config_cannot_run_is_refused_before_sending() {
        let request = ClientRequest::new("ws://a/")
            .unwrap()
            .extensions("permessage-deflate")
            .unwrap();
        assert_eq!(
            ClientHandshake::new(request, Config::default(), Instant::now()).unwrap_err(),
            Error::Build(BuildError::ExtensionNotEnabled {
                name: "permessage-deflate".into()
            })
        );
        let request = ClientRequest::new("ws://a/")
            .unwrap()
            .extensions("x-foo")
            .unwrap();
        assert!(matches!(
            ClientHandshake::new(request, Config::default(), Instant::now()),
            Err(Error::Build(BuildError::ExtensionNotEnabled { .. }))
        ));
    }

    #[cfg(feature = "deflate")]
    mod deflate {
        use super::*;
        use crate::deflate::{DeflateConfig, NegotiationError};

        fn with_offer(offer: &str) -> ClientHandshake {
            let request = ClientRequest::new("ws://a/")
                .unwrap()
                .extensions(offer)
                .unwrap();
            started(request, Config::default().deflate(DeflateConfig::default()))
        }

        fn negotiation_error(offer: &str, answer_ext: &str) -> NegotiationError {
            let hs = with_offer(offer);
            let bytes = answer(&hs, &format!("Sec-WebSocket-Extensions: {answer_ext}\r\n"));
            match outcome(hs, &bytes) {
                Err(Error::Response(ResponseError::Deflate(e))) => *e,
                other => panic!("{offer} / {answer_ext}: {other:?}"),
            }
        }

        #[test]
        fn answers_are_checked_against_the_offer_sent() {
            // §7.1.2.2: not offered, so not allowed.
            assert_eq!(
                negotiation_error(
                    "permessage-deflate",
                    "permessage-deflate; client_max_window_bits=15"
                ),
                NegotiationError::ClientWindowNotOffered { answered: 15 }
            );
            // §7.1.2.1: larger than asked, or left out.
            assert_eq!(
                negotiation_error(
                    "permessage-deflate; server_max_window_bits=10",
                    "permessage-deflate; server_max_window_bits=12"
                ),
                NegotiationError::ServerWindowTooLarge {
                    requested: 10,
                    answered: 12
                }
            );
            assert_eq!(
                negotiation_error(
                    "permessage-deflate; server_max_window_bits=10",
                    "permessage-deflate"
                ),
                NegotiationError::ServerWindowMissing { requested: 10 }
            );
        }

        #[test]
        fn the_config_offer_connects_with_compression() {
            let hs = started(
                ClientRequest::new("ws://a/").unwrap(),
                Config::default().deflate(DeflateConfig::default()),
            );
            assert_eq!(
                hs.request().extensions_offered(),
                Some(
                    "permessage-deflate; server_no_context_takeover; \
                     client_no_context_takeover; client_max_window_bits"
                )
            );
            // Asked for, so the answer must have it (RFC 7692 §7.1.1.1).
            let bytes = answer(
                &hs,
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
            );
            let (conn, _) = outcome(hs, &bytes).unwrap();
            assert!(conn.extensions().deflate().is_some());
        }
    }
}
