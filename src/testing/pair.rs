//! Two connections back to back in memory, under a virtual clock.

use std::time::{Duration, Instant};

use bytes::Buf;

use crate::{Config, Connection, Error, Event, Role};

/// One end of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// A connection and its end of the in-memory link.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) conn: Connection,
    /// Every byte this end wrote, in order: the wire as the peer sees it.
    pub(crate) wire: Vec<u8>,
    /// Written and not yet read by the peer.
    in_flight: Vec<u8>,
    /// Events taken from `poll_event`, in order.
    pub(crate) events: Vec<Event>,
    /// Errors from `poll_event`, with the virtual time since the start.
    pub(crate) errors: Vec<(Duration, Error)>,
    /// The host is gone (unplugged, crashed): it reads, writes and ticks
    /// nothing; what the peer sends piles up unread.
    pub(crate) frozen: bool,
    /// The most bytes one read takes: 1 delivers byte by byte.
    pub(crate) read_size: usize,
    /// Never shut down or close the transport, whatever the connection
    /// asks: a peer that leaves TCP open after the closing handshake.
    pub(crate) holds_open: bool,
    /// This end shut its write half down (TCP FIN), at this virtual time.
    pub(crate) shut_at: Option<Duration>,
    /// This end closed the transport, at this virtual time.
    pub(crate) closed_at: Option<Duration>,
    /// The peer's FIN was delivered to this end.
    eof_seen: bool,
}

impl Endpoint {
    fn new(conn: Connection) -> Endpoint {
        Endpoint {
            conn,
            wire: Vec::new(),
            in_flight: Vec::new(),
            events: Vec::new(),
            errors: Vec::new(),
            frozen: false,
            read_size: usize::MAX,
            holds_open: false,
            shut_at: None,
            closed_at: None,
            eof_seen: false,
        }
    }

    /// Driven while its host is up and its transport open.
    fn live(&self) -> bool {
        !self.frozen && self.closed_at.is_none()
    }

    /// Pings among the events.
    pub(crate) fn pings(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Ping(_)))
            .count()
    }
}

/// A client and a server connection wired back to back.
///
/// Time stands still unless the test calls [`Pair::advance`]; bytes move
/// when the test calls [`Pair::drive`] (`advance` drives too). Each end's
/// writes go to the other's input; a shutdown reaches the peer as EOF once
/// everything written before it has been read.
#[derive(Debug)]
pub(crate) struct Pair {
    pub(crate) client: Endpoint,
    pub(crate) server: Endpoint,
    epoch: Instant,
    now: Instant,
}

/// More passes than any test needs to settle: a pair still moving after
/// this many is looping.
const MAX_PASSES: usize = 100_000;

impl Pair {
    /// Two fresh connections with `config`, at virtual time zero.
    pub(crate) fn new(config: Config) -> Pair {
        Pair::with_configs(config.clone(), config)
    }

    /// A client with `client` and a server with `server`.
    pub(crate) fn with_configs(client: Config, server: Config) -> Pair {
        Pair::from_connections(
            Connection::new(Role::Client, client),
            Connection::new(Role::Server, server),
            Instant::now(),
        )
    }

    /// Puts raw `bytes` on the wire as if `side` had written them: frames
    /// the connection itself would never send.
    pub(crate) fn inject(&mut self, side: Side, bytes: &[u8]) {
        let end = self.end(side);
        end.wire.extend_from_slice(bytes);
        end.in_flight.extend_from_slice(bytes);
    }

    /// Connections made elsewhere (by a handshake) at time `now`, which
    /// becomes virtual time zero. Each is told the time at once, as an
    /// adapter does before its first wait.
    pub(crate) fn from_connections(client: Connection, server: Connection, now: Instant) -> Pair {
        let mut pair = Pair {
            client: Endpoint::new(client),
            server: Endpoint::new(server),
            epoch: now,
            now,
        };
        pair.drive();
        pair
    }

    /// The virtual time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.epoch
    }

    /// The current virtual instant.
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    pub(crate) fn end(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Moves bytes, EOFs and events at the current time until nothing
    /// moves.
    pub(crate) fn drive(&mut self) {
        for _ in 0..MAX_PASSES {
            if !self.pass() {
                return;
            }
        }
        panic!("the pair did not settle: {self:#?}");
    }

    /// Moves the clock forward by `by`, stopping at every deadline either
    /// end asks for on the way, as an adapter's timer would.
    pub(crate) fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        self.drive();
        for _ in 0..MAX_PASSES {
            let next = [&self.client, &self.server]
                .into_iter()
                .filter(|e| e.live())
                .filter_map(|e| e.conn.poll_timeout())
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
        panic!("timers keep firing at {:?}: {self:#?}", self.elapsed());
    }

    /// One pass: each live end ticks and writes, then reads.
    fn pass(&mut self) -> bool {
        let now = self.now;
        let elapsed = self.elapsed();
        let mut moved = false;
        for end in [&mut self.client, &mut self.server] {
            if end.live() {
                moved |= write(end, now, elapsed);
            }
        }
        moved |= read(&mut self.client, &mut self.server, elapsed);
        moved |= read(&mut self.server, &mut self.client, elapsed);
        moved
    }
}

/// Reports the time, takes what `end` queued onto the link and carries out
/// a shutdown or close it asks for.
fn write(end: &mut Endpoint, now: Instant, elapsed: Duration) -> bool {
    let mut moved = false;
    end.conn.handle_timeout(now);
    let out = end.conn.transmit();
    if end.shut_at.is_none() && out.has_remaining() {
        while out.has_remaining() {
            let chunk = out.chunk();
            end.wire.extend_from_slice(chunk);
            end.in_flight.extend_from_slice(chunk);
            let n = chunk.len();
            out.advance(n);
        }
        moved = true;
    }
    if end.holds_open {
        return moved;
    }
    if end.shut_at.is_none() && end.conn.should_shutdown() {
        end.shut_at = Some(elapsed);
        moved = true;
    }
    if end.conn.should_close() {
        end.closed_at = Some(elapsed);
        end.shut_at.get_or_insert(elapsed);
        moved = true;
    }
    moved
}

/// Delivers what `from` wrote to `to` (one read of at most `read_size`
/// bytes), then EOF once `from` shut down and everything was read, and
/// takes `to`'s events.
fn read(to: &mut Endpoint, from: &mut Endpoint, elapsed: Duration) -> bool {
    if to.frozen {
        return false;
    }
    let mut moved = false;
    if to.closed_at.is_some() {
        // Nothing more is read; a failure found by a timer is still taken.
    } else if !from.in_flight.is_empty() {
        let n = from.in_flight.len().min(to.read_size);
        to.conn.recv(&from.in_flight[..n]);
        from.in_flight.drain(..n);
        moved = true;
    } else if from.shut_at.is_some() && !to.eof_seen {
        to.eof_seen = true;
        to.conn.recv_eof();
        moved = true;
    }
    loop {
        match to.conn.poll_event() {
            Ok(Some(event)) => to.events.push(event),
            Ok(None) => break,
            Err(error) => to.errors.push((elapsed, error)),
        }
        moved = true;
    }
    moved
}
