//! The opening handshake, client and server machines back to back in
//! memory, under a virtual clock.

use std::time::{Duration, Instant};

use super::Pair;
use crate::handshake::{
    AcceptOptions, ClientAction, ClientHandshake, ClientRequest, Error, Refusal, Request, Response,
    ServerAction, ServerHandshake,
};
use crate::{Config, Connection};

type Decide = Box<dyn FnOnce(&Request) -> Result<AcceptOptions, Refusal>>;

/// A [`ClientHandshake`] and a [`ServerHandshake`] wired back to back.
///
/// As an adapter would, the server shuts the transport down once a
/// refusal is written, and the client once its handshake failed; the other
/// side sees EOF after the bytes sent before it.
pub(crate) struct HandshakePair {
    pub(crate) client: ClientHandshake,
    pub(crate) server: ServerHandshake,
    decide: Option<Decide>,
    /// Every byte the client wrote.
    pub(crate) request: Vec<u8>,
    /// Every byte the server wrote.
    pub(crate) answer: Vec<u8>,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    /// The server's host is gone: it reads, writes and ticks nothing.
    pub(crate) server_frozen: bool,
    /// The client's host is gone.
    pub(crate) client_frozen: bool,
    client_shut: bool,
    server_shut: bool,
    epoch: Instant,
    now: Instant,
}

impl HandshakePair {
    /// A handshake for `url` (draws the key: seed first for a fixed one),
    /// the server answering with `decide`.
    pub(crate) fn new(
        request: ClientRequest,
        client_config: Config,
        server_config: Config,
        decide: impl FnOnce(&Request) -> Result<AcceptOptions, Refusal> + 'static,
    ) -> HandshakePair {
        let now = Instant::now();
        HandshakePair {
            client: ClientHandshake::new(request, client_config, now).expect("a valid request"),
            server: ServerHandshake::new(server_config, now),
            decide: Some(Box::new(decide)),
            request: Vec::new(),
            answer: Vec::new(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            server_frozen: false,
            client_frozen: false,
            client_shut: false,
            server_shut: false,
            epoch: now,
            now,
        }
    }

    /// A default handshake that accepts with `options`.
    pub(crate) fn accepting(url: &str, options: AcceptOptions) -> HandshakePair {
        HandshakePair::new(
            ClientRequest::new(url).unwrap(),
            Config::default(),
            Config::default(),
            move |_| Ok(options),
        )
    }

    /// The virtual time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.epoch
    }

    /// Moves bytes at the current time until neither machine can go on.
    pub(crate) fn drive(&mut self) {
        for _ in 0..10_000 {
            let moved = self.client_pass() | self.server_pass();
            if !moved {
                return;
            }
        }
        panic!("the handshake did not settle");
    }

    /// Moves the clock forward by `by`, stopping at every deadline on the
    /// way.
    pub(crate) fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        self.drive();
        for _ in 0..10_000 {
            let client = (!self.client_frozen && !self.client_shut)
                .then(|| self.client.poll_timeout())
                .flatten();
            let server = (!self.server_frozen && !self.server_shut)
                .then(|| self.server.poll_timeout())
                .flatten();
            let next = [client, server]
                .into_iter()
                .flatten()
                .filter(|&t| t <= target)
                .min();
            let Some(at) = next else {
                self.now = target;
                self.drive();
                return;
            };
            self.now = self.now.max(at);
            self.drive();
        }
        panic!("handshake timers keep firing");
    }

    /// A refusal or a failure ends the transport: anything but a 101.
    fn accepted(&self) -> bool {
        self.answer.starts_with(b"HTTP/1.1 101 ")
    }

    fn client_pass(&mut self) -> bool {
        if self.client_frozen || self.client_shut {
            return false;
        }
        self.client.handle_timeout(self.now);
        match self.client.poll_action() {
            ClientAction::Write => {
                let out = self.client.transmit().to_vec();
                self.client.advance(out.len());
                self.request.extend_from_slice(&out);
                self.to_server.extend_from_slice(&out);
                true
            }
            ClientAction::Read if !self.to_client.is_empty() => {
                self.client.recv(&std::mem::take(&mut self.to_client));
                true
            }
            ClientAction::Read if self.server_shut => {
                self.client.recv_eof();
                true
            }
            ClientAction::Read => false,
            ClientAction::Done => {
                self.client_shut = !self.accepted();
                self.client_shut
            }
        }
    }

    fn server_pass(&mut self) -> bool {
        if self.server_frozen || self.server_shut {
            return false;
        }
        self.server.handle_timeout(self.now);
        match self.server.poll_action() {
            ServerAction::Read if !self.to_server.is_empty() => {
                self.server.recv(&std::mem::take(&mut self.to_server));
                true
            }
            ServerAction::Read if self.client_shut => {
                self.server.recv_eof();
                true
            }
            ServerAction::Read => false,
            ServerAction::Decide => {
                let decide = self.decide.take().expect("one decision");
                self.server.decide(decide);
                true
            }
            ServerAction::Write => {
                let out = self.server.transmit().to_vec();
                self.server.advance(out.len());
                self.answer.extend_from_slice(&out);
                self.to_client.extend_from_slice(&out);
                true
            }
            ServerAction::Done => {
                self.server_shut = !self.accepted();
                self.server_shut
            }
        }
    }

    /// Both outcomes. A server whose handshake failed has shut the
    /// transport down (the client saw EOF); a client whose handshake failed
    /// has too.
    pub(crate) fn finish(mut self) -> Outcome {
        self.drive();
        let client = self.client.finish();
        let server = self.server.finish();
        Outcome {
            client,
            server,
            now: self.now,
            to_server: self.to_server,
            to_client: self.to_client,
        }
    }

    /// Both connections in a [`Pair`] that starts at the handshake's time,
    /// with any bytes still in flight delivered. Panics if either side
    /// failed.
    pub(crate) fn connect(self) -> (Pair, Response) {
        let outcome = self.finish();
        let (mut client, response) = outcome.client.expect("client handshake");
        let mut server = outcome.server.expect("server handshake");
        client.recv(&outcome.to_client);
        server.recv(&outcome.to_server);
        (
            Pair::from_connections(client, server, outcome.now),
            response,
        )
    }
}

/// What both sides of a [`HandshakePair`] ended with.
pub(crate) struct Outcome {
    pub(crate) client: Result<(Connection, Response), Error>,
    pub(crate) server: Result<Connection, Error>,
    now: Instant,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
}
