//! Connection behaviour over time, on the in-memory [`Pair`].

use std::time::Duration;

use bytes::Bytes;

use super::{Pair, Side};
use crate::frame::{FrameHeader, OpCode};
use crate::{CloseCode, Config, Error, Event, MessageKind, Parsed, State};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The opcodes of the frames in `wire`, in order.
fn opcodes(mut wire: &[u8]) -> Vec<OpCode> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let Ok(Parsed::Complete(header, len)) = FrameHeader::parse(wire) else {
            panic!("truncated frame on the wire");
        };
        out.push(header.opcode);
        wire = &wire[len + header.payload_len as usize..];
    }
    out
}

fn close_code(state: &State) -> Option<CloseCode> {
    match state {
        State::Closed(status) => Some(status.code),
        _ => None,
    }
}

fn keepalive_client() -> Pair {
    Pair::with_configs(
        Config::default().keepalive(secs(30), secs(10)),
        Config::default(),
    )
}

#[test]
fn keepalive_pings_after_exactly_the_idle_interval() {
    let mut pair = keepalive_client();
    pair.advance(secs(30) - ms(1));
    assert!(
        pair.client.wire.is_empty(),
        "no ping before 30 s of silence"
    );
    assert_eq!(pair.server.pings(), 0);

    pair.advance(ms(1));
    assert_eq!(opcodes(&pair.client.wire), [OpCode::Ping]);
    assert_eq!(pair.server.pings(), 1);
    // The server's automatic pong came back and kept the client open.
    assert_eq!(pair.client.events, [Event::Pong(Bytes::new())]);
    assert!(pair.client.conn.state().is_open());
    assert_eq!(pair.client.conn.poll_timeout(), Some(pair.now() + secs(30)));
}

#[test]
fn an_answered_keepalive_runs_forever_without_drift() {
    let mut pair = keepalive_client();
    pair.advance(secs(300));
    // One ping every 30 s, each counted from the pong before it.
    assert_eq!(pair.server.pings(), 10);
    assert!(pair.client.errors.is_empty() && pair.server.errors.is_empty());
    assert!(pair.client.conn.state().is_open());
}

#[test]
fn traffic_from_the_peer_postpones_keepalive() {
    let mut pair = keepalive_client();
    for _ in 0..5 {
        pair.advance(secs(20));
        pair.server.conn.send("tick").unwrap();
        pair.drive();
    }
    assert_eq!(
        pair.server.pings(),
        0,
        "a peer heard every 20 s needs no ping"
    );
    // Silence from here: the ping comes 30 s after the last message.
    pair.advance(secs(30) - ms(1));
    assert_eq!(pair.server.pings(), 0);
    pair.advance(ms(1));
    assert_eq!(pair.server.pings(), 1);
}

#[test]
fn a_dead_peer_fails_the_connection_after_the_pong_timeout() {
    let mut pair = keepalive_client();
    pair.server.frozen = true; // unplugged: reads and answers nothing
    pair.advance(secs(40) - ms(1));
    assert_eq!(opcodes(&pair.client.wire), [OpCode::Ping]);
    assert!(
        pair.client.errors.is_empty(),
        "failed before the pong timeout"
    );

    pair.advance(ms(1));
    assert_eq!(pair.client.errors, [(secs(40), Error::KeepaliveTimeout)]);
    assert_eq!(close_code(pair.client.conn.state()), Some(CloseCode(1011)));
    // The close frame went out and the write half was shut at once...
    assert_eq!(opcodes(&pair.client.wire), [OpCode::Ping, OpCode::Close]);
    assert_eq!(pair.client.shut_at, Some(secs(40)));
    // ...and the wait for the peer's end is bounded by the close timeout.
    pair.advance(secs(60));
    assert_eq!(pair.client.closed_at, Some(secs(45)));
}

#[test]
fn the_close_timeout_fails_a_peer_that_never_answers() {
    let mut pair = Pair::new(Config::default().close_timeout(secs(5)));
    pair.server.frozen = true;
    pair.client.conn.close(CloseCode::NORMAL, "bye").unwrap();
    pair.advance(secs(5) - ms(1));
    assert_eq!(*pair.client.conn.state(), State::Closing);
    assert!(pair.client.errors.is_empty());

    pair.advance(ms(1));
    assert_eq!(pair.client.errors, [(secs(5), Error::CloseTimeout)]);
    assert_eq!(close_code(pair.client.conn.state()), Some(CloseCode(1006)));
    // Nobody is listening: the transport closes at once, no linger.
    assert_eq!(pair.client.closed_at, Some(secs(5)));
}

#[test]
fn a_clean_close_takes_no_time_and_the_server_closes_tcp_first() {
    let mut pair = Pair::new(Config::default());
    pair.client.conn.close(CloseCode::NORMAL, "bye").unwrap();
    pair.drive();
    assert_eq!(
        pair.server.events,
        [Event::Close(Some(crate::CloseFrame::new(
            CloseCode::NORMAL,
            "bye"
        )))]
    );
    for (end, initiated) in [(&pair.client, true), (&pair.server, false)] {
        let State::Closed(status) = end.conn.state() else {
            panic!("not closed: {:?}", end.conn.state());
        };
        assert!(status.clean);
        assert_eq!(status.initiated_locally, initiated);
        assert!(end.errors.is_empty());
        assert_eq!(end.closed_at, Some(Duration::ZERO));
    }
    // RFC 6455 §7.1.1: the client waited for the server's FIN.
    assert_eq!(pair.server.shut_at, Some(Duration::ZERO));
    assert_eq!(pair.client.conn.poll_timeout(), None);
}

#[test]
fn control_frames_between_fragments_delivered_byte_by_byte() {
    let mut pair = Pair::new(Config::default());
    pair.server.read_size = 1;
    pair.client.read_size = 1;
    let client = &mut pair.client.conn;
    client
        .send_fragment(MessageKind::Text, "Hel".into(), false)
        .unwrap();
    client.ping("between".into()).unwrap();
    client
        .send_fragment(MessageKind::Text, "lo, wörld".into(), true)
        .unwrap();
    pair.drive();
    assert_eq!(
        opcodes(&pair.client.wire),
        [OpCode::Text, OpCode::Ping, OpCode::Continuation]
    );
    assert_eq!(
        pair.server.events,
        [
            Event::Ping("between".into()),
            Event::Text("Hello, wörld".into())
        ]
    );
    assert_eq!(pair.client.events, [Event::Pong("between".into())]);
}

#[test]
fn a_protocol_violation_is_answered_with_1002_and_both_ends_close() {
    let mut pair = Pair::new(Config::default());
    // An unmasked frame from a client breaks RFC 6455 §5.1.
    pair.inject(Side::Client, b"\x81\x02hi");
    pair.drive();
    let [(at, error)] = pair.server.errors[..] else {
        panic!("{:?}", pair.server.errors);
    };
    assert_eq!((at, error.close_code()), (Duration::ZERO, CloseCode(1002)));
    let Some(Event::Close(Some(frame))) = pair.client.events.last() else {
        panic!("{:?}", pair.client.events);
    };
    assert_eq!(frame.code, CloseCode(1002));
    // The client echoed the close; both transports closed without a timer.
    assert_eq!(close_code(pair.client.conn.state()), Some(CloseCode(1002)));
    assert_eq!(pair.client.closed_at, Some(Duration::ZERO));
    assert_eq!(pair.server.closed_at, Some(Duration::ZERO));
}

#[test]
fn seeded_masks_give_byte_exact_frames() {
    let frames = |seed| {
        let _seeded = crate::rng::seed(seed);
        let mut pair = Pair::new(Config::default());
        pair.client.conn.send("Hello").unwrap();
        pair.drive();
        assert_eq!(pair.server.events, [Event::Text("Hello".into())]);
        pair.client.wire
    };
    // FIN + text, masked length 5, the key SplitMix64(7) draws first, then
    // "Hello" XOR the key.
    let expected = [
        0x81, 0x85, 0xd7, 0x0d, 0x32, 0x59, 0x9f, 0x68, 0x5e, 0x35, 0xb8,
    ];
    assert_eq!(frames(7), expected);
    assert_eq!(frames(7), expected, "the same seed, the same bytes");
    assert_ne!(frames(8), expected);
}

#[test]
fn a_masked_frame_from_the_server_fails_the_client_with_1002() {
    let mut pair = Pair::new(Config::default());
    // RFC 6455 §5.1: a client closes on a masked frame.
    pair.inject(Side::Server, &[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
    pair.drive();
    assert!(pair.client.events.is_empty());
    let [(_, error)] = pair.client.errors[..] else {
        panic!("{:?}", pair.client.errors);
    };
    assert_eq!(error.close_code(), CloseCode(1002));
    assert_eq!(opcodes(&pair.client.wire), [OpCode::Close]);
}

#[test]
fn a_client_stops_waiting_for_a_server_that_never_closes_tcp() {
    let mut pair = Pair::new(Config::default().close_timeout(secs(5)));
    pair.server.holds_open = true;
    pair.client.conn.close(CloseCode::NORMAL, "bye").unwrap();
    pair.drive();
    // The closing handshake is done: the client now waits for the FIN
    // (RFC 6455 §7.1.1), bounded by the close timeout.
    let State::Closed(status) = pair.client.conn.state() else {
        panic!("{:?}", pair.client.conn.state());
    };
    assert!(status.clean);
    pair.advance(secs(5) - ms(1));
    assert_eq!(pair.client.closed_at, None);
    pair.advance(ms(1));
    assert_eq!(pair.client.closed_at, Some(secs(5)));
    assert!(
        pair.client.errors.is_empty(),
        "a clean close, not a failure"
    );
}
