//! The server's opening handshake over HTTP/1.1 bytes as a sans-IO state
//! machine: bytes in, a [`Request`] out for the caller's decision, the
//! answer's bytes out, and a [`Connection`] at the end. Time is an input.

use std::time::{Duration, Instant};

use super::error::Error;
use super::refusal::Refusal;
use super::server::{parse_request, AcceptOptions, Request};
use super::Parsed;
use crate::{Config, Connection};

/// After a refusal is decided, how long the server still tries to write it
/// past the handshake deadline; a client that does not read cannot hold
/// the connection longer than this.
pub const REFUSAL_GRACE: Duration = Duration::from_millis(500);

/// What a [`ServerHandshake`] needs next from whoever drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAction {
    /// Read more bytes and pass them to [`ServerHandshake::recv`] (or
    /// [`recv_eof`](ServerHandshake::recv_eof)); wait no longer than
    /// [`poll_timeout`](ServerHandshake::poll_timeout).
    Read,
    /// The request is complete and valid: look at
    /// [`request`](ServerHandshake::request), then call
    /// [`accept`](ServerHandshake::accept) or
    /// [`refuse`](ServerHandshake::refuse) (or
    /// [`decide`](ServerHandshake::decide)).
    Decide,
    /// Write [`transmit`](ServerHandshake::transmit) and report what was
    /// written with [`advance`](ServerHandshake::advance); wait no longer
    /// than [`poll_timeout`](ServerHandshake::poll_timeout).
    Write,
    /// The handshake is over: call [`finish`](ServerHandshake::finish). On
    /// failure, shut the transport down (the refusal, if any, is written).
    Done,
}

#[derive(Debug)]
enum State {
    /// Reading the request head.
    Reading { buf: Vec<u8> },
    /// Waiting for the caller's decision; `leftover` follows the head.
    Deciding {
        request: Box<Request>,
        leftover: Vec<u8>,
    },
    /// Writing the 101; then the connection runs.
    Answering {
        out: Vec<u8>,
        connection: Box<Connection>,
    },
    /// Writing a refusal (400, 403, 408, 426, 431, 500, ...); then fail.
    Refusing { out: Vec<u8>, error: Error },
    /// Over.
    Done(Result<Box<Connection>, Error>),
}

/// The server side of the HTTP/1.1 opening handshake (RFC 6455 §4.2), with
/// no I/O and no clock.
///
/// Every HTTP decision is made here: the statuses of refusals (400, 426
/// with `Sec-WebSocket-Version: 13`, 431, 408 at the deadline, 500 when the
/// caller's answer cannot be written), the deadline itself
/// ([`Config::handshake_timeout`]), how long a refusal may take to write
/// ([`REFUSAL_GRACE`]), and the extensions agreed. The blocking and tokio
/// adapters only move bytes and time.
///
/// ```
/// use std::time::Instant;
/// use rfc6455::handshake::{AcceptOptions, ServerAction, ServerHandshake};
/// use rfc6455::Config;
///
/// let mut hs = ServerHandshake::new(Config::default(), Instant::now());
/// hs.recv(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Version: 13\r\n\r\n");
/// assert_eq!(hs.poll_action(), ServerAction::Decide);
/// assert_eq!(hs.request().unwrap().path(), "/chat");
/// hs.accept(AcceptOptions::default());
/// assert_eq!(hs.poll_action(), ServerAction::Write);
/// assert!(hs.transmit().starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// let n = hs.transmit().len();
/// hs.advance(n);
/// assert_eq!(hs.poll_action(), ServerAction::Done);
/// let connection = hs.finish()?;
/// # let _ = connection;
/// # Ok::<(), rfc6455::handshake::Error>(())
/// ```
#[derive(Debug)]
pub struct ServerHandshake {
    config: Config,
    deadline: Instant,
    state: State,
}

impl ServerHandshake {
    /// A handshake that started at `now`; the request must be complete by
    /// `now + config.handshake_timeout`.
    pub fn new(config: Config, now: Instant) -> ServerHandshake {
        ServerHandshake {
            deadline: config.handshake_deadline(now),
            config,
            state: State::Reading { buf: Vec::new() },
        }
    }

    /// What to do next.
    pub fn poll_action(&mut self) -> ServerAction {
        if let State::Reading { buf } = &mut self.state {
            match parse_request(buf, &self.config.handshake_limits) {
                Ok(Parsed::Partial) => return ServerAction::Read,
                Ok(Parsed::Complete(request, used)) => {
                    let leftover = buf.split_off(used);
                    self.state = State::Deciding {
                        request: Box::new(request),
                        leftover,
                    };
                }
                Err(error) => self.fail_with(error.response(), error.into()),
            }
        }
        let action = match &self.state {
            State::Reading { .. } => ServerAction::Read,
            State::Deciding { .. } => ServerAction::Decide,
            State::Answering { out, .. } | State::Refusing { out, .. } if !out.is_empty() => {
                ServerAction::Write
            }
            State::Answering { .. } | State::Refusing { .. } | State::Done(_) => ServerAction::Done,
        };
        if action == ServerAction::Done {
            self.settle();
        }
        action
    }

    /// Bytes read from the client. Bytes that arrive after the request head
    /// are kept for the connection (a client may send frames at once).
    pub fn recv(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Reading { buf } => buf.extend_from_slice(data),
            State::Deciding { leftover, .. } => leftover.extend_from_slice(data),
            State::Answering { connection, .. } => connection.recv(data),
            State::Refusing { .. } | State::Done(_) => {}
        }
    }

    /// The client closed its side before the request was complete: the
    /// handshake fails without an answer (nobody would read it).
    pub fn recv_eof(&mut self) {
        match &mut self.state {
            State::Reading { .. } => {
                self.state = State::Done(Err(Error::ClosedDuringHandshake));
            }
            State::Answering { connection, .. } => connection.recv_eof(),
            _ => {}
        }
    }

    /// The validated request, while a decision is awaited.
    pub fn request(&self) -> Option<&Request> {
        match &self.state {
            State::Deciding { request, .. } => Some(request),
            _ => None,
        }
    }

    /// Accepts the request with `options` (see [`Request::accept`]): the
    /// answer is queued for [`transmit`](Self::transmit). If `options`
    /// cannot be written as a valid answer, a 500 is queued instead and the
    /// handshake ends with [`Error::Build`]. Does nothing unless a
    /// decision is awaited.
    pub fn accept(&mut self, options: AcceptOptions) {
        let State::Deciding { request, leftover } = &self.state else {
            return;
        };
        match request.accept(&options, &self.config) {
            Ok(accepted) => {
                let out = accepted.encode();
                let connection = Box::new(accepted.into_connection(leftover));
                self.state = State::Answering { out, connection };
            }
            Err(e) => {
                let refusal = Refusal::new(500).encode();
                self.fail_with(refusal, Error::Build(e));
            }
        }
    }

    /// Refuses the request: `refusal` is queued for
    /// [`transmit`](Self::transmit) and the handshake ends with
    /// [`Error::Refused`]. Does nothing unless a decision is awaited.
    pub fn refuse(&mut self, refusal: Refusal) {
        if let State::Deciding { .. } = self.state {
            // The status actually sent: one a refusal cannot have is 500.
            let status = refusal.sent_status();
            self.fail_with(refusal.encode(), Error::Refused { status });
        }
    }

    /// Runs `decide` on the request, if a decision is awaited, and accepts
    /// or refuses as it says.
    pub fn decide<F>(&mut self, decide: F)
    where
        F: FnOnce(&Request) -> Result<AcceptOptions, Refusal>,
    {
        let Some(request) = self.request() else {
            return;
        };
        match decide(request) {
            Ok(options) => self.accept(options),
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// The bytes to write now (empty when there are none).
    pub fn transmit(&self) -> &[u8] {
        match &self.state {
            State::Answering { out, .. } | State::Refusing { out, .. } => out,
            _ => &[],
        }
    }

    /// `n` bytes of [`transmit`](Self::transmit) were written. Once all
    /// are, the handshake is over (a timeout can no longer undo it).
    pub fn advance(&mut self, n: usize) {
        if let State::Answering { out, .. } | State::Refusing { out, .. } = &mut self.state {
            out.drain(..n.min(out.len()));
        }
        self.settle();
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next:
    /// the handshake deadline, or while writing a refusal, the deadline
    /// plus [`REFUSAL_GRACE`]. `None` once done.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Reading { .. } | State::Deciding { .. } | State::Answering { .. } => {
                Some(self.deadline)
            }
            State::Refusing { .. } => Some(self.deadline + REFUSAL_GRACE),
            State::Done(_) => None,
        }
    }

    /// Reports the time. At the deadline an incomplete request is refused
    /// with 408 (RFC 9110 §15.5.9); an answer still not written is
    /// abandoned.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &mut self.state {
            State::Reading { .. } | State::Deciding { .. } if now >= self.deadline => {
                self.fail_with(Refusal::new(408).encode(), Error::Timeout);
            }
            // Half a 101 cannot be followed by a 408: give up.
            State::Answering { .. } if now >= self.deadline => {
                self.state = State::Done(Err(Error::Timeout));
            }
            State::Refusing { error, .. } if now >= self.deadline + REFUSAL_GRACE => {
                let error = std::mem::replace(error, Error::Timeout);
                self.state = State::Done(Err(error));
            }
            _ => {}
        }
    }

    /// The outcome, once [`poll_action`](Self::poll_action) says
    /// [`ServerAction::Done`]: the connection to run (it already holds the
    /// bytes the client sent after its request), or why the handshake
    /// failed (a refusal, if one was due, has been written).
    ///
    /// # Errors
    ///
    /// The [`Error`] the request broke (its refusal sent), [`Error::Timeout`],
    /// [`Error::Refused`], [`Error::Build`],
    /// [`Error::ClosedDuringHandshake`]; called before the handshake is
    /// done, [`Error::Timeout`] without anything sent.
    pub fn finish(mut self) -> Result<Connection, Error> {
        self.settle();
        match self.state {
            State::Done(result) => result.map(|c| *c),
            _ => Err(Error::Timeout),
        }
    }

    /// Queues `answer` and remembers the failure.
    fn fail_with(&mut self, answer: Vec<u8>, error: Error) {
        self.state = State::Refusing { out: answer, error };
    }

    /// A fully written answer ends the handshake.
    fn settle(&mut self) {
        let state = std::mem::replace(&mut self.state, State::Done(Err(Error::Timeout)));
        self.state = match state {
            State::Answering { out, connection } if out.is_empty() => State::Done(Ok(connection)),
            State::Refusing { out, error } if out.is_empty() => State::Done(Err(error)),
            other => other,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::RequestError;
    use crate::Role;

    const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    /// Writes everything queued, as an adapter would.
    fn drain(hs: &mut ServerHandshake) -> Vec<u8> {
        let out = hs.transmit().to_vec();
        hs.advance(out.len());
        out
    }

    #[test]
    fn accepts_any_split_of_the_request() {
        let t0 = Instant::now();
        let frame = [0x81, 0x80, 1, 2, 3, 4]; // an empty masked text frame
        let mut input = REQUEST.to_vec();
        input.extend_from_slice(&frame);
        for cut in 0..=input.len() {
            let mut hs = ServerHandshake::new(Config::default(), t0);
            hs.recv(&input[..cut]);
            if hs.poll_action() == ServerAction::Read {
                hs.recv(&input[cut..]);
            } else {
                assert!(cut >= REQUEST.len(), "decided on a partial head at {cut}");
                hs.recv(&input[cut..]);
            }
            assert_eq!(hs.poll_action(), ServerAction::Decide, "cut {cut}");
            hs.decide(|r| Ok(AcceptOptions::default().protocol(&r.protocols()[0])));
            assert_eq!(hs.poll_action(), ServerAction::Write);
            let answer = String::from_utf8(drain(&mut hs)).unwrap();
            assert!(answer.contains("Sec-WebSocket-Protocol: chat\r\n"));
            assert_eq!(hs.poll_action(), ServerAction::Done);
            let mut conn = hs.finish().unwrap();
            assert_eq!(conn.role(), Role::Server);
            // The frame after the head reached the connection.
            assert_eq!(
                conn.poll_event().unwrap(),
                Some(crate::Event::Text("".into()))
            );
        }
    }

    /// Feeds `input` cut at `cuts`, answering any decision with `accept`,
    /// and gives what was transmitted and the outcome.
    fn run(input: &[u8], cuts: &[usize]) -> (Vec<u8>, Result<(), Error>) {
        let mut hs = ServerHandshake::new(Config::default(), Instant::now());
        let mut out = Vec::new();
        let mut start = 0;
        let mut pieces = cuts.iter().copied().chain([input.len()]);
        loop {
            match hs.poll_action() {
                ServerAction::Read => match pieces.next() {
                    Some(end) => {
                        hs.recv(&input[start..end.max(start)]);
                        start = end.max(start);
                    }
                    None => hs.recv_eof(),
                },
                ServerAction::Decide => hs.accept(AcceptOptions::default()),
                ServerAction::Write => out.extend(drain(&mut hs)),
                ServerAction::Done => return (out, hs.finish().map(|_| ())),
            }
        }
    }

    #[test]
    fn every_refusal_path_whatever_the_split() {
        let ok = std::str::from_utf8(REQUEST).unwrap();
        let cases: Vec<(String, u16)> = vec![
            (ok.to_owned(), 101),
            (ok.replace("Version: 13", "Version: 8"), 426),
            (ok.replace("GET /chat", "POST /chat"), 400),
            (ok.replace("GET /chat", "GET *"), 400),
            (ok.replace("Upgrade: websocket", "Upgrade: h2c"), 400),
            (
                ok.replace(
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                    "Sec-WebSocket-Key: x",
                ),
                400,
            ),
            (
                ok.replace("Host: a\r\n", "Host: a\r\nContent-Length: 3\r\n"),
                400,
            ),
            (
                ok.replace(
                    "Host: a\r\n",
                    &format!("Host: a\r\nX: {}\r\n", "a".repeat(9000)),
                ),
                431,
            ),
            ("\x16\x03\x01\x02\x00garbage\r\n\r\n".to_owned(), 400),
        ];
        for (request, status) in cases {
            let input = request.as_bytes();
            let (whole, outcome) = run(input, &[]);
            let head = String::from_utf8_lossy(&whole);
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert_eq!(outcome.is_ok(), status == 101);
            // Any single cut, and byte by byte, gives the same bytes and outcome.
            let every: Vec<usize> = (1..input.len()).collect();
            for cuts in (0..=input.len()).map(|c| vec![c]).chain([every]) {
                assert_eq!(
                    run(input, &cuts),
                    (whole.clone(), outcome.clone()),
                    "{status} {cuts:?}"
                );
            }
        }
    }

    #[test]
    fn bad_request_is_refused_with_its_status() {
        let mut hs = ServerHandshake::new(Config::default(), Instant::now());
        hs.recv(
            b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        );
        assert_eq!(hs.poll_action(), ServerAction::Write);
        let answer = String::from_utf8(drain(&mut hs)).unwrap();
        assert!(answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(answer.contains("Sec-WebSocket-Version: 13\r\n"));
        assert_eq!(hs.poll_action(), ServerAction::Done);
        assert!(matches!(
            hs.finish(),
            Err(Error::Request(RequestError::UnsupportedVersion { .. }))
        ));
    }

    #[test]
    fn deadline_gives_408_then_gives_up_after_the_grace() {
        let t0 = Instant::now();
        let config = Config::default().handshake_timeout(Duration::from_secs(1));
        let mut hs = ServerHandshake::new(config, t0);
        hs.recv(&REQUEST[..10]);
        assert_eq!(hs.poll_action(), ServerAction::Read);
        assert_eq!(hs.poll_timeout(), Some(t0 + Duration::from_secs(1)));
        hs.handle_timeout(t0 + Duration::from_millis(999));
        assert_eq!(hs.poll_action(), ServerAction::Read);
        hs.handle_timeout(t0 + Duration::from_secs(1));
        assert_eq!(hs.poll_action(), ServerAction::Write);
        assert!(hs
            .transmit()
            .starts_with(b"HTTP/1.1 408 Request Timeout\r\n"));
        assert_eq!(
            hs.poll_timeout(),
            Some(t0 + Duration::from_secs(1) + REFUSAL_GRACE)
        );
        // The client does not read the 408: stop trying after the grace.
        hs.handle_timeout(t0 + Duration::from_secs(1) + REFUSAL_GRACE);
        assert_eq!(hs.poll_action(), ServerAction::Done);
        assert_eq!(hs.poll_timeout(), None);
        assert_eq!(hs.finish().unwrap_err(), Error::Timeout);
    }

    #[test]
    fn refusal_and_bad_answers() {
        let mut hs = ServerHandshake::new(Config::default(), Instant::now());
        hs.recv(REQUEST);
        hs.poll_action();
        hs.refuse(Refusal::new(403).body("no"));
        assert!(drain(&mut hs).starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
        assert_eq!(hs.poll_action(), ServerAction::Done);
        assert_eq!(hs.finish().unwrap_err(), Error::Refused { status: 403 });

        // A status no refusal can have goes out, and is reported, as 500.
        let mut hs = ServerHandshake::new(Config::default(), Instant::now());
        hs.recv(REQUEST);
        hs.poll_action();
        hs.refuse(Refusal::new(101));
        assert!(drain(&mut hs).starts_with(b"HTTP/1.1 500 "));
        assert_eq!(hs.finish().unwrap_err(), Error::Refused { status: 500 });

        let mut hs = ServerHandshake::new(Config::default(), Instant::now());
        hs.recv(REQUEST);
        hs.poll_action();
        hs.accept(AcceptOptions::default().protocol("not-offered"));
        assert!(drain(&mut hs).starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
        assert_eq!(hs.poll_action(), ServerAction::Done);
        assert!(matches!(hs.finish(), Err(Error::Build(_))));
    }

    #[test]
    fn eof_before_the_head_fails_silently() {
        let mut hs = ServerHandshake::new(Config::default(), Instant::now());
        hs.recv(&REQUEST[..20]);
        assert_eq!(hs.poll_action(), ServerAction::Read);
        hs.recv_eof();
        assert_eq!(hs.poll_action(), ServerAction::Done);
        assert!(hs.transmit().is_empty());
        assert_eq!(hs.finish().unwrap_err(), Error::ClosedDuringHandshake);
    }

    #[test]
    fn a_written_101_survives_the_deadline() {
        let t0 = Instant::now();
        let mut hs = ServerHandshake::new(Config::default(), t0);
        hs.recv(REQUEST);
        hs.poll_action();
        hs.accept(AcceptOptions::default());
        drain(&mut hs);
        assert_eq!(hs.poll_timeout(), None);
        hs.handle_timeout(t0 + Duration::from_secs(3600));
        assert!(hs.finish().is_ok());
    }

    #[test]
    fn partial_writes_and_early_finish() {
        let mut hs = ServerHandshake::new(Config::default(), Instant::now());
        hs.recv(REQUEST);
        hs.poll_action();
        hs.accept(AcceptOptions::default());
        let total = hs.transmit().len();
        hs.advance(5);
        assert_eq!(hs.transmit().len(), total - 5);
        assert_eq!(hs.poll_action(), ServerAction::Write);
        // Finishing early sends nothing more and fails.
        assert_eq!(hs.finish().unwrap_err(), Error::Timeout);
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn agreed_compression_runs_in_the_connection() {
        let config = Config::default().deflate(crate::deflate::DeflateConfig::default());
        let mut hs = ServerHandshake::new(config, Instant::now());
        let mut request = REQUEST[..REQUEST.len() - 2].to_vec();
        request.extend_from_slice(b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
        hs.recv(&request);
        hs.poll_action();
        hs.accept(AcceptOptions::default());
        let answer = String::from_utf8(drain(&mut hs)).unwrap();
        assert!(answer.contains(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
             client_no_context_takeover\r\n"
        ));
        hs.poll_action();
        let conn = hs.finish().unwrap();
        assert!(conn.extensions().deflate().is_some());
    }
}
