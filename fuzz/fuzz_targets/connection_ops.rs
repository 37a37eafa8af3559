//! An in-memory client and server, after a real opening handshake through
//! `ClientHandshake` and `ServerHandshake` (with permessage-deflate when the
//! input asks), driven by an arbitrary sequence
//! of operations: messages, fragments, pings, pongs, closes, delivering `k`
//! bytes one way, advancing the clock, shutting a transport down.
//!
//! Invariants:
//! - nothing panics, and every byte either end writes is a valid frame for
//!   its role (checked by `Wire`);
//! - every message received equals the next message the peer sent, in
//!   order; the close frame received is the one sent; when neither end
//!   failed, everything sent is received by the end;
//! - the only failures between two correct ends are the ones the input
//!   provokes: a message past the receiver's limits, a timeout, an aborted
//!   transport; never a protocol, UTF-8 or compression error;
//! - input buffered after draining stays within one frame, and
//!   `max_send_queue` refuses exactly what it should.

#![no_main]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::{BufMut, Bytes};
use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::DeflateConfig;
use rfc6455::frame::MAX_HEADER_LEN;
use rfc6455::handshake::{
    AcceptOptions, ClientAction, ClientHandshake, ClientRequest, ServerAction, ServerHandshake,
};
use rfc6455::{
    CloseCode, CloseFrame, Config, Connection, Error, Event, Message, MessageKind, PreparedMessage,
    Role, SendError, State,
};
use rfc6455_fuzz::{take_output, Wire};

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

#[derive(Arbitrary, Debug)]
struct Settings {
    frame: u8,
    message: u8,
    queue: Option<u8>,
    keepalive: Option<(u8, u8)>,
    close_timeout: u8,
    auto_pong: bool,
}

const FRAME_LIMITS: [usize; 5] = [16, 125, 1000, 1 << 16, 16 << 20];
const MESSAGE_LIMITS: [usize; 5] = [16, 200, 4096, 1 << 16, 64 << 20];

impl Settings {
    fn config(&self, deflate: Option<DeflateConfig>) -> Config {
        let ms = |n: u8| Duration::from_millis(100 * (1 + u64::from(n)));
        let mut config = Config::default()
            .max_frame_size(FRAME_LIMITS[usize::from(self.frame) % FRAME_LIMITS.len()])
            .max_message_size(MESSAGE_LIMITS[usize::from(self.message) % MESSAGE_LIMITS.len()])
            .max_send_queue(self.queue.map(|q| 64 * usize::from(q)))
            .close_timeout(ms(self.close_timeout))
            .auto_pong(self.auto_pong);
        if let Some((interval, timeout)) = self.keepalive {
            config = config.keepalive(ms(interval), ms(timeout));
        }
        if let Some(deflate) = deflate {
            config = config.deflate(deflate);
        }
        config
    }
}

#[derive(Arbitrary, Debug)]
struct DeflateChoice {
    client: u8,
    server: u8,
    min_size: u8,
}

/// A `DeflateConfig` from one byte.
fn deflate_config(byte: u8, min_size: u8) -> DeflateConfig {
    DeflateConfig::default()
        .server_no_context_takeover(byte & 1 != 0)
        .client_no_context_takeover(byte & 2 != 0)
        .server_max_window_bits(8 + ((byte >> 2) & 7))
        .client_max_window_bits(if byte & 0x20 != 0 {
            8 + (byte >> 6)
        } else {
            15
        })
        .compression_level(u32::from(min_size >> 6))
        .min_compress_size(usize::from(min_size & 0x3F))
}

#[derive(Arbitrary, Debug)]
enum Op {
    Text {
        side: Side,
        text: String,
    },
    Binary {
        side: Side,
        data: Vec<u8>,
    },
    /// A message framed once (`send_prepared`), sent by both ends: the
    /// server shares its frame (and compressed frame), the client masks it.
    Prepared {
        text: bool,
        data: Vec<u8>,
    },
    /// A long, compressible message: `byte` repeated.
    Big {
        side: Side,
        text: bool,
        byte: u8,
        len: u16,
    },
    Fragment {
        side: Side,
        text: bool,
        data: Vec<u8>,
        fin: bool,
    },
    Ping {
        side: Side,
        data: Vec<u8>,
    },
    Pong {
        side: Side,
        data: Vec<u8>,
    },
    Close {
        side: Side,
        code: u16,
        reason: String,
    },
    Deliver {
        from: Side,
        max: u16,
    },
    DeliverAll {
        from: Side,
    },
    Advance {
        millis: u16,
    },
    Shutdown {
        side: Side,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    client: Settings,
    server: Settings,
    deflate: Option<DeflateChoice>,
    ops: Vec<Op>,
}

struct End {
    conn: Connection,
    max_frame: usize,
    max_message: usize,
    keepalive: bool,
    queue_limit: Option<usize>,
    /// What this end wrote.
    wire: Wire,
    /// Messages this end sent that the peer has not received yet.
    in_flight: VecDeque<Message>,
    /// The fragmented message being sent.
    fragments: Option<(MessageKind, Vec<u8>)>,
    /// The largest message this end sent or started.
    largest_sent: usize,
    /// The close frame this end started the closing handshake with.
    closed_with: Option<CloseFrame>,
    /// What this end's `poll_event` failed with.
    error: Option<Error>,
    /// The peer's close frame arrived.
    got_close: bool,
    /// The transport is shut down: nothing more is read or written.
    shut: bool,
    /// It was shut down with bytes still queued.
    aborted: bool,
    /// The transport reported EOF.
    eof: bool,
}

impl End {
    fn new(conn: Connection, config: &Config, role: Role, deflate: bool) -> End {
        End {
            max_frame: config.max_frame_size,
            max_message: config.max_message_size,
            keepalive: config.ping_interval.is_some(),
            queue_limit: config.max_send_queue,
            conn,
            wire: Wire::new(role, deflate),
            in_flight: VecDeque::new(),
            fragments: None,
            largest_sent: 0,
            closed_with: None,
            error: None,
            got_close: false,
            shut: false,
            aborted: false,
            eof: false,
        }
    }

    /// Checks a data command against `max_send_queue` and records it.
    fn sent(&mut self, result: Result<(), SendError>, queued_before: usize, len: usize) -> bool {
        let limit = self.queue_limit;
        match result {
            Ok(()) => {
                if let Some(max) = limit {
                    assert!(
                        queued_before == 0 || queued_before + len <= max,
                        "sent {len} bytes onto {queued_before} queued, limit {max}"
                    );
                }
                true
            }
            Err(SendError::QueueFull { buffered }) => {
                let max = limit.expect("QueueFull without max_send_queue");
                assert_eq!(buffered, queued_before);
                assert!(queued_before > 0 && queued_before + len > max);
                false
            }
            Err(SendError::Closed) => {
                assert!(!self.conn.state().is_open());
                false
            }
            Err(SendError::FragmentedMessageInProgress) => {
                assert!(self.fragments.is_some());
                false
            }
            Err(SendError::FragmentKindMismatch) => {
                assert!(self.fragments.is_some());
                false
            }
            Err(SendError::InvalidUtf8) => false,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    fn send(&mut self, message: Message) {
        let before = self.conn.buffered_amount();
        let len = message.len();
        let result = self.conn.send(message.clone());
        if self.sent(result, before, len) {
            self.largest_sent = self.largest_sent.max(len);
            self.in_flight.push_back(message);
        }
    }

    fn send_prepared(&mut self, prepared: &PreparedMessage) {
        let before = self.conn.buffered_amount();
        let len = prepared.len();
        let result = self.conn.send_prepared(prepared);
        if self.sent(result, before, len) {
            self.largest_sent = self.largest_sent.max(len);
            self.in_flight.push_back(prepared.message());
        }
    }

    fn fragment(&mut self, kind: MessageKind, data: Vec<u8>, fin: bool) {
        let before = self.conn.buffered_amount();
        let len = data.len();
        let result = self
            .conn
            .send_fragment(kind, Bytes::from(data.clone()), fin);
        if !self.sent(result, before, len) {
            return;
        }
        let (_, mut so_far) = self.fragments.take().unwrap_or((kind, Vec::new()));
        so_far.extend_from_slice(&data);
        self.largest_sent = self.largest_sent.max(so_far.len());
        if fin {
            self.in_flight.push_back(match kind {
                MessageKind::Text => {
                    Message::Text(String::from_utf8(so_far).expect("accepted text").into())
                }
                MessageKind::Binary => Message::Binary(so_far.into()),
            });
        } else {
            self.fragments = Some((kind, so_far));
        }
    }

    fn control(&mut self, ping: bool, data: Vec<u8>) {
        let len = data.len();
        let result = if ping {
            self.conn.ping(data.into())
        } else {
            self.conn.pong(data.into())
        };
        match result {
            Ok(()) => assert!(len <= 125),
            Err(SendError::ControlPayloadTooLarge(n)) => assert!(n == len && len > 125),
            Err(SendError::Closed) => assert!(!self.conn.state().is_open()),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    fn close(&mut self, code: u16, reason: &str) {
        // Mostly codes that may be sent, sometimes any.
        const CODES: [u16; 8] = [1000, 1001, 1003, 1008, 1011, 3000, 4999, 1005];
        let code = CloseCode(match code {
            0..=0x7FFF => CODES[usize::from(code) % CODES.len()],
            raw => raw,
        });
        let was_open = self.conn.state().is_open();
        match self.conn.close(code, reason) {
            Ok(()) if was_open => {
                assert!(code.is_sendable() && reason.len() <= 123);
                assert_eq!(self.conn.state(), &State::Closing);
                self.closed_with = Some(CloseFrame::new(code, reason));
            }
            Ok(()) => {}
            Err(SendError::InvalidCloseCode(c)) => assert!(!code.is_sendable() && c == code.0),
            Err(SendError::CloseReasonTooLong(n)) => assert!(n == reason.len() && n > 123),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

struct Pair {
    client: End,
    server: End,
    now: Instant,
    /// Time has passed: timeouts may have fired.
    time_passed: bool,
}

impl Pair {
    fn ends(&mut self, from: Side) -> (&mut End, &mut End) {
        match from {
            Side::Client => (&mut self.client, &mut self.server),
            Side::Server => (&mut self.server, &mut self.client),
        }
    }

    fn end(&mut self, side: Side) -> &mut End {
        self.ends(side).0
    }

    /// Moves up to `max` bytes from one end to the other; `true` if any
    /// moved.
    fn deliver(&mut self, from: Side, max: usize) -> bool {
        let (sender, receiver) = self.ends(from);
        if sender.shut || receiver.shut {
            return false;
        }
        let bytes = take_output(&mut sender.conn, max);
        sender.wire.push(&bytes);
        if bytes.len().is_multiple_of(2) {
            receiver.conn.recv(&bytes);
        } else if !receiver.conn.state().is_closed() {
            receiver.conn.read_buf().put_slice(&bytes);
        }
        self.drain(from.other());
        !bytes.is_empty()
    }

    /// Takes every event `side` has, checking each against what its peer
    /// sent.
    fn drain(&mut self, side: Side) {
        let time_passed = self.time_passed;
        let (receiver, sender) = self.ends(side);
        loop {
            match receiver.conn.poll_event() {
                Ok(Some(event)) => {
                    assert!(
                        receiver.error.is_none() && !receiver.got_close,
                        "event after the end: {event:?}"
                    );
                    on_event(receiver, sender, event);
                }
                Ok(None) => break,
                Err(error) => {
                    assert!(
                        receiver.error.is_none() && !receiver.got_close,
                        "error after the end: {error:?}"
                    );
                    check_error(receiver, sender, &error, time_passed);
                    receiver.error = Some(error);
                }
            }
        }
        let bound = receiver.max_frame.max(125).max(MAX_HEADER_LEN);
        let buffered = receiver.conn.read_buf().len();
        assert!(buffered <= bound, "{buffered} input bytes kept");
    }

    fn shutdown(&mut self, side: Side) {
        let (end, peer) = self.ends(side);
        if end.shut || !end.conn.should_shutdown() {
            return;
        }
        end.shut = true;
        end.aborted = end.conn.wants_write();
        if !peer.shut {
            peer.eof = true;
            peer.conn.recv_eof();
            self.drain(side.other());
        }
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Text { side, text } => self.end(side).send(Message::Text(text.into())),
            Op::Binary { side, data } => self.end(side).send(Message::Binary(data.into())),
            Op::Prepared { text, data } => {
                let message = match String::from_utf8(data) {
                    Ok(s) if text => Message::Text(s.into()),
                    Ok(s) => Message::Binary(s.into_bytes().into()),
                    Err(e) => Message::Binary(e.into_bytes().into()),
                };
                let prepared = PreparedMessage::new(message);
                self.end(Side::Client).send_prepared(&prepared);
                self.end(Side::Server).send_prepared(&prepared);
            }
            Op::Big {
                side,
                text,
                byte,
                len,
            } => {
                let data = vec![byte & 0x7F; usize::from(len) * 4];
                self.end(side).send(if text {
                    Message::Text(String::from_utf8(data).expect("ASCII").into())
                } else {
                    Message::Binary(data.into())
                })
            }
            Op::Fragment {
                side,
                text,
                data,
                fin,
            } => {
                let kind = if text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                self.end(side).fragment(kind, data, fin)
            }
            Op::Ping { side, data } => self.end(side).control(true, data),
            Op::Pong { side, data } => self.end(side).control(false, data),
            Op::Close { side, code, reason } => self.end(side).close(code, &reason),
            Op::Deliver { from, max } => {
                self.deliver(from, usize::from(max));
            }
            Op::DeliverAll { from } => {
                self.deliver(from, usize::MAX);
            }
            Op::Advance { millis } => {
                self.now += Duration::from_millis(u64::from(millis));
                self.time_passed = true;
                for side in [Side::Client, Side::Server] {
                    let now = self.now;
                    self.end(side).conn.handle_timeout(now);
                    self.drain(side);
                }
            }
            Op::Shutdown { side } => self.shutdown(side),
        }
    }

    /// Delivers everything both ways until nothing moves.
    fn flush(&mut self) {
        for _ in 0..16 {
            let moved =
                self.deliver(Side::Client, usize::MAX) | self.deliver(Side::Server, usize::MAX);
            self.shutdown(Side::Client);
            self.shutdown(Side::Server);
            if !moved {
                break;
            }
        }
    }
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

fn on_event(receiver: &mut End, sender: &mut End, event: Event) {
    match event {
        Event::Text(_) | Event::Binary(_) => {
            let received = event.into_message().expect("a data message");
            assert!(received.len() <= receiver.max_message);
            let sent = sender
                .in_flight
                .pop_front()
                .unwrap_or_else(|| panic!("received {received:?}, never sent"));
            assert_eq!(received, sent, "a message changed on the way");
        }
        Event::Ping(payload) | Event::Pong(payload) => assert!(payload.len() <= 125),
        Event::Close(frame) => {
            receiver.got_close = true;
            // Everything sent before the close frame arrived before it.
            assert!(
                sender.in_flight.is_empty(),
                "close arrived before {} messages",
                sender.in_flight.len()
            );
            let expected = match (&sender.closed_with, &sender.error, &receiver.closed_with) {
                // The peer started the close.
                (Some(sent), _, _) => Some(sent.code),
                // The peer failed the connection.
                (None, Some(error), _) => Some(error.close_code()),
                // The peer echoed our close code.
                (None, None, Some(ours)) => Some(ours.code),
                (None, None, None) => panic!("close {frame:?} from a peer that never closed"),
            };
            assert_eq!(frame.as_ref().map(|f| f.code), expected);
            if let (Some(sent), Some(frame)) = (&sender.closed_with, &frame) {
                assert_eq!(sent, frame);
            }
        }
    }
}

/// Only failures the input provoked are allowed between two correct ends.
fn check_error(receiver: &End, sender: &End, error: &Error, time_passed: bool) {
    match error.close_code() {
        CloseCode::MESSAGE_TOO_BIG => match *error {
            Error::FrameTooLarge { len } => {
                assert!(len > receiver.max_frame as u64);
                assert!(sender.wire.max_frame_len > receiver.max_frame as u64);
            }
            Error::MessageTooLarge { len } => {
                assert!(len > receiver.max_message as u64);
                assert!(
                    sender.largest_sent > receiver.max_message,
                    "{error:?} but the largest message sent was {}",
                    sender.largest_sent
                );
            }
            _ => panic!("{error:?}"),
        },
        // Too many empty fragments (default limit 64).
        CloseCode::POLICY_VIOLATION => assert!(sender.wire.max_empty_fragments > 64, "{error:?}"),
        CloseCode::INTERNAL_ERROR => {
            assert!(matches!(error, Error::KeepaliveTimeout));
            assert!(receiver.keepalive && time_passed);
        }
        CloseCode::ABNORMAL => match error {
            Error::CloseTimeout => assert!(time_passed),
            Error::AbnormalClosure => {
                assert!(receiver.eof);
                // A peer that shut down cleanly sent its close frame first.
                assert!(sender.aborted || time_passed, "EOF without a close frame");
            }
            _ => panic!("{error:?}"),
        },
        _ => panic!("two correct ends failed with {error:?}"),
    }
}

/// Both ends after the handshake, each with the config it was built from.
type Ends = ((Connection, Config), (Connection, Config), bool);

/// The pair, through both handshake machines: the client's request and the
/// server's 101 cross in memory, each machine moving through exactly the
/// actions a correct exchange takes.
fn handshake(input: &Input) -> Option<Ends> {
    let deflate = input.deflate.as_ref();
    let client_config = input
        .client
        .config(deflate.map(|d| deflate_config(d.client, d.min_size)));
    let server_config = input
        .server
        .config(deflate.map(|d| deflate_config(d.server, d.min_size)));
    let now = Instant::now();

    let request = ClientRequest::new("ws://localhost:9001/fuzz").ok()?;
    let mut client =
        ClientHandshake::new(request, client_config.clone(), now).expect("a valid offer");
    let mut server = ServerHandshake::new(server_config.clone(), now);
    assert_eq!(server.poll_action(), ServerAction::Read);

    assert_eq!(client.poll_action(), ClientAction::Write);
    let request = client.transmit().to_vec();
    client.advance(request.len());
    assert_eq!(client.poll_action(), ClientAction::Read);
    server.recv(&request);

    assert_eq!(
        server.poll_action(),
        ServerAction::Decide,
        "our own request"
    );
    server.accept(AcceptOptions::default());
    assert_eq!(server.poll_action(), ServerAction::Write, "our own answer");
    let answer = server.transmit().to_vec();
    server.advance(answer.len());
    assert_eq!(server.poll_action(), ServerAction::Done);
    let server = server.finish().expect("the server's handshake succeeds");

    client.recv(&answer);
    assert_eq!(client.poll_action(), ClientAction::Done);
    let (client, response) = client.finish().expect("our own answer agrees");
    assert_eq!(response.status(), 101);
    assert_eq!(client.extensions(), response.agreed_extensions());
    assert_eq!(client.extensions(), server.extensions());
    assert_eq!(client.extensions().deflate().is_some(), deflate.is_some());
    Some((
        (client, client_config),
        (server, server_config),
        deflate.is_some(),
    ))
}

fuzz_target!(|input: Input| {
    let Some(((client, client_config), (server, server_config), deflate)) = handshake(&input)
    else {
        return;
    };
    let start = Instant::now();
    let mut pair = Pair {
        client: End::new(client, &client_config, Role::Client, deflate),
        server: End::new(server, &server_config, Role::Server, deflate),
        now: start,
        time_passed: false,
    };
    for side in [Side::Client, Side::Server] {
        pair.end(side).conn.handle_timeout(start);
    }
    for op in input.ops {
        pair.run(op);
    }
    pair.flush();

    let failed = pair.client.error.is_some() || pair.server.error.is_some();
    let aborted = pair.client.aborted || pair.server.aborted;
    if !failed && !aborted {
        // Everything sent arrived.
        for side in [Side::Client, Side::Server] {
            let end = pair.end(side);
            assert!(
                end.in_flight.is_empty(),
                "{side:?}: {} messages never arrived",
                end.in_flight.len()
            );
        }
        // A close started by either end completes cleanly.
        if pair.client.closed_with.is_some() || pair.server.closed_with.is_some() {
            for side in [Side::Client, Side::Server] {
                match pair.end(side).conn.state() {
                    State::Closed(status) => assert!(status.clean, "{side:?}: {status:?}"),
                    state => panic!("{side:?} still {state:?} after the closing handshake"),
                }
            }
        }
    }
});
