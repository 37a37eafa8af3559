//! A hostile peer cannot make a connection buffer past its limits.

mod common;

use common::*;
use rfc6455::{Config, Connection, Error, Event, Role};

#[test]
fn oversized_frame_is_refused_from_its_header() {
    let config = Config::default().max_frame_size(1000);
    // Only the header arrives: the error must not wait for the payload.
    let header = &client_frame(0x2, true, &[0u8; 1001])[..8];
    let (_, error, out) = server_reacts(config, header);
    assert_eq!(error, Some(Error::FrameTooLarge { len: 1001 }));
    assert_eq!(sent_close_code(&out), Some(1009));
}

#[test]
fn frame_announcing_2_pow_63_bytes() {
    let mut input = vec![0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    input.extend_from_slice(&KEY);
    let (_, error, out) = server_reacts(Config::default(), &input);
    assert_eq!(error, Some(Error::FrameTooLarge { len: (1 << 63) - 1 }));
    assert_eq!(sent_close_code(&out), Some(1009));
    // The top bit itself is a protocol error.
    let mut input = vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0];
    input.extend_from_slice(&KEY);
    let (_, _, out) = server_reacts(Config::default(), &input);
    assert_eq!(sent_close_code(&out), Some(1002));
}

#[test]
fn message_limit_counts_all_fragments() {
    let config = Config::default().max_frame_size(100).max_message_size(250);
    let mut input = client_frame(0x2, false, &[1u8; 100]);
    input.extend(client_frame(0x0, false, &[1u8; 100]));
    input.extend(client_frame(0x0, true, &[1u8; 51]));
    let (events, error, out) = server_reacts(config.clone(), &input);
    assert!(events.is_empty());
    assert_eq!(error, Some(Error::MessageTooLarge { len: 251 }));
    assert_eq!(sent_close_code(&out), Some(1009));

    // Exactly at the limit is fine.
    let mut input = client_frame(0x2, false, &[1u8; 100]);
    input.extend(client_frame(0x0, false, &[1u8; 100]));
    input.extend(client_frame(0x0, true, &[1u8; 50]));
    let (events, error, _) = server_reacts(config, &input);
    assert_eq!(error, None);
    assert!(matches!(&events[..], [Event::Binary(b)] if b.len() == 250));
}

#[test]
fn endless_empty_fragments_do_not_grow_memory() {
    // Even with the count limit lifted, each empty fragment costs nothing.
    let config = Config::default().max_empty_fragments(usize::MAX);
    let mut server = Connection::new(Role::Server, config);
    server.recv(&client_frame(0x2, false, b""));
    let empty = client_frame(0x0, false, b"");
    for _ in 0..100_000 {
        server.recv(&empty);
        assert_eq!(server.poll_event(), Ok(None));
    }
    assert!(server.read_buf().capacity() < 64 * 1024);
}

#[test]
fn empty_fragments_past_the_limit_fail_with_1008() {
    let config = Config::default().max_empty_fragments(3);
    let mut input = client_frame(0x1, false, b"");
    for _ in 0..3 {
        input.extend(client_frame(0x0, false, b""));
    }
    let (_, error, out) = server_reacts(config.clone(), &input);
    assert_eq!(error, Some(Error::TooManyEmptyFragments { limit: 3 }));
    assert_eq!(sent_close_code(&out), Some(1008));
    // The count is per message: three empty ones in each of two messages
    // are fine.
    let mut input = Vec::new();
    for _ in 0..2 {
        input.extend(client_frame(0x2, false, b""));
        input.extend(client_frame(0x0, false, b""));
        input.extend(client_frame(0x0, false, b""));
        input.extend(client_frame(0x0, true, b"x"));
    }
    let (events, error, _) = server_reacts(config, &input);
    assert_eq!(error, None);
    assert_eq!(events.len(), 2);
}

#[test]
fn ping_flood_from_a_peer_that_does_not_read() {
    let mut server = Connection::new(Role::Server, Config::default());
    let ping = client_frame(0x9, true, &[0u8; 125]);
    for _ in 0..100_000 {
        server.recv(&ping);
        while let Ok(Some(_)) = server.poll_event() {}
    }
    // Pongs queue up to a bound, then only the latest is kept.
    assert!(
        server.buffered_amount() < 64 * 1024 + 2 * 131,
        "{}",
        server.buffered_amount()
    );
}

#[test]
fn read_buffer_shrinks_after_a_big_message() {
    let mut server = Connection::new(Role::Server, Config::default());
    server.recv(&client_frame(0x2, true, &vec![0u8; 1 << 20]));
    let Ok(Some(Event::Binary(data))) = server.poll_event() else {
        panic!()
    };
    drop(data);
    assert_eq!(server.poll_event(), Ok(None));
    assert!(server.read_buf().capacity() <= 64 * 1024);
}

#[test]
fn send_queue_hard_cap() {
    let mut server = Connection::new(Role::Server, Config::default().max_send_queue(Some(1000)));
    server
        .send(vec![0u8; 5000])
        .expect("an empty queue takes any message");
    assert_eq!(
        server.send(vec![0u8; 10]),
        Err(rfc6455::SendError::QueueFull { buffered: 5004 })
    );
    drain(&mut server);
    server.send(vec![0u8; 10]).unwrap();
}
