//! Chunking invariance: however the input is split, down to single bytes,
//! a connection produces the same events, the same error and the same
//! output as when it gets the input in one piece.

mod common;

use common::*;
use proptest::prelude::*;
use rfc6455::{Config, Connection, Error, Event, Role};

/// Frames a client might send, valid and invalid mixed.
fn any_frame() -> impl Strategy<Value = Vec<u8>> {
    let payload = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<String>().prop_map(String::into_bytes),
        Just("κόσμε".as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 120..300),
    ];
    let opcode = prop_oneof![
        8 => prop_oneof![Just(0u8), Just(1), Just(2)],
        3 => prop_oneof![Just(8u8), Just(9), Just(10)],
        1 => 0u8..16,
    ];
    (
        opcode,
        any::<bool>(),
        prop_oneof![9 => Just(0u8), 1 => 0u8..8],
        payload,
        prop_oneof![19 => Just(true), 1 => Just(false)],
    )
        .prop_map(|(op, fin, rsv, mut payload, masked)| {
            let fin = fin || op >= 8 && rsv == 0;
            if op == 8 {
                // Mostly well-formed close payloads, so closes happen.
                payload.truncate(20);
                if payload.len() >= 2 {
                    payload[..2].copy_from_slice(&1000u16.to_be_bytes());
                }
            } else if op >= 8 {
                payload.truncate(125);
            }
            frame_rsv(op, fin, rsv, &payload, masked)
        })
}

fn run(input: &[u8], cuts: &[usize]) -> (Vec<Event>, Option<Error>, Vec<WireFrame>) {
    let mut conn = Connection::new(
        Role::Server,
        Config::default().max_message_size(1000).max_frame_size(500),
    );
    let mut events = Vec::new();
    let mut error = None;
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        conn.recv(&input[start..end]);
        start = end;
        let (mut e, err) = common::events(&mut conn);
        events.append(&mut e);
        if err.is_some() {
            error = err;
            break;
        }
    }
    let out = decode_all(&drain(&mut conn));
    (events, error, out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_gives_the_same_result(
        frames in proptest::collection::vec(any_frame(), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let input: Vec<u8> = frames.concat();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        let whole = run(&input, &[]);
        prop_assert_eq!(run(&input, &cuts), whole);
    }

    #[test]
    fn byte_by_byte_gives_the_same_result(frames in proptest::collection::vec(any_frame(), 1..5)) {
        let input: Vec<u8> = frames.concat();
        let cuts: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(run(&input, &cuts), run(&input, &[]));
    }
}

#[test]
fn arbitrary_bytes_never_panic_and_stay_bounded() {
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..2000), |bytes| {
            for role in [Role::Server, Role::Client] {
                let mut conn = Connection::new(
                    role,
                    Config::default()
                        .max_message_size(4096)
                        .max_frame_size(2048),
                );
                conn.recv(&bytes);
                let _ = common::events(&mut conn);
                prop_assert!(conn.buffered_amount() < 4096);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_read_hint_is_what_the_frame_in_progress_still_needs() {
    let mut server = Connection::new(Role::Server, Config::default());
    assert_eq!(server.read_hint(), 0, "between frames");
    let frame = common::client_frame(0x2, true, &vec![7u8; 16 * 1024]);
    server.recv(&frame[..100]);
    assert_eq!(server.poll_event().unwrap(), None);
    // 100 bytes in: an 8-byte header (16-bit length, mask) and 92 of payload.
    assert_eq!(server.read_hint(), 16 * 1024 - 92);
    server.recv(&frame[100..]);
    assert!(matches!(
        server.poll_event().unwrap(),
        Some(Event::Binary(_))
    ));
    assert_eq!(server.read_hint(), 0);
}
