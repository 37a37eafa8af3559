//! Prepared messages: framed once, queued on many connections, and read
//! back by real clients, with and without permessage-deflate.

mod common;

use bytes::Bytes;
use common::drain;
use rfc6455::{Config, Connection, Event, Message, PreparedMessage, Role, SendError};

#[test]
fn every_server_connection_queues_the_same_frame() {
    let text = "x".repeat(10_000); // above the copy threshold: shared
    let prepared = PreparedMessage::new(text.as_str());
    let mut wires = Vec::new();
    for _ in 0..3 {
        let mut server = Connection::new(Role::Server, Config::default());
        server.send_prepared(&prepared).unwrap();
        wires.push(drain(&mut server));
    }
    assert_eq!(wires[0], wires[1]);
    assert_eq!(wires[1], wires[2]);
    assert_eq!(&wires[0][..], &prepared.frame()[..]);

    let mut client = Connection::new(Role::Client, Config::default());
    client.recv(&wires[0]);
    assert_eq!(client.poll_event().unwrap(), Some(Event::Text(text.into())));
}

#[test]
fn small_frames_leave_in_one_write_with_their_neighbours() {
    let prepared = PreparedMessage::new(Bytes::from_static(b"\x01\x02\x03"));
    let mut server = Connection::new(Role::Server, Config::default());
    server.send("before").unwrap();
    server.send_prepared(&prepared).unwrap();
    server.send("after").unwrap();
    let out = server.transmit();
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    assert_eq!(bytes::Buf::chunks_vectored(&*out, &mut slices), 1);
    let wire = drain(&mut server);
    let mut client = Connection::new(Role::Client, Config::default());
    client.recv(&wire);
    assert_eq!(
        client.poll_event().unwrap(),
        Some(Event::Text("before".into()))
    );
    assert_eq!(
        client.poll_event().unwrap(),
        Some(Event::Binary(Bytes::from_static(b"\x01\x02\x03")))
    );
    assert_eq!(
        client.poll_event().unwrap(),
        Some(Event::Text("after".into()))
    );
}

#[test]
fn a_client_masks_a_prepared_message_like_any_other() {
    let prepared = PreparedMessage::new("hello");
    let mut client = Connection::new(Role::Client, Config::default());
    client.send_prepared(&prepared).unwrap();
    let wire = drain(&mut client);
    assert_eq!(wire[1] & 0x80, 0x80, "the mask bit is set");
    let mut server = Connection::new(Role::Server, Config::default());
    server.recv(&wire);
    assert_eq!(
        server.poll_event().unwrap(),
        Some(Event::Text("hello".into()))
    );
}

#[test]
fn sending_a_prepared_message_follows_the_send_rules() {
    let prepared = PreparedMessage::new("late");
    let mut server = Connection::new(Role::Server, Config::default());
    server
        .send_fragment(rfc6455::MessageKind::Text, "par".into(), false)
        .unwrap();
    assert_eq!(
        server.send_prepared(&prepared),
        Err(SendError::FragmentedMessageInProgress)
    );
    server
        .send_fragment(rfc6455::MessageKind::Text, "t".into(), true)
        .unwrap();
    server.close(rfc6455::CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.send_prepared(&prepared), Err(SendError::Closed));

    let mut full = Connection::new(Role::Server, Config::default().max_send_queue(Some(8)));
    full.send_prepared(&prepared).unwrap();
    assert!(matches!(
        full.send_prepared(&prepared),
        Err(SendError::QueueFull { .. })
    ));
}

#[test]
fn the_message_comes_back_as_prepared() {
    let prepared = PreparedMessage::new(Message::Text("héllo".into()));
    assert_eq!(prepared.message(), Message::Text("héllo".into()));
    assert_eq!(prepared.len(), "héllo".len());
    let binary = PreparedMessage::from(vec![0u8; 70_000]);
    assert_eq!(binary.message(), Message::Binary(vec![0u8; 70_000].into()));
    assert_eq!(binary.frame().len(), 70_000 + 10, "a 64-bit length header");
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use rfc6455::deflate::{DeflateConfig, DeflateParams};
    use rfc6455::Extensions;

    fn pair(params: DeflateParams, config: DeflateConfig) -> (Connection, Connection) {
        let ext = Extensions::with_deflate(params);
        let server = Connection::with_extensions(
            Role::Server,
            Config::default().deflate(config.clone()),
            &ext,
        );
        let client =
            Connection::with_extensions(Role::Client, Config::default().deflate(config), &ext);
        (server, client)
    }

    fn no_context(bits: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: true,
            server_max_window_bits: bits,
            ..DeflateParams::default()
        }
    }

    const JSON: &str = r#"{"type":"message","room":"lobby","from":"alice","text":"hello hello hello hello hello"}"#;

    #[test]
    fn no_context_takeover_shares_one_compressed_frame() {
        let prepared = PreparedMessage::new(JSON);
        let mut wires = Vec::new();
        for _ in 0..3 {
            let (mut server, mut client) = pair(no_context(15), DeflateConfig::default());
            server.send_prepared(&prepared).unwrap();
            server.send_prepared(&prepared).unwrap();
            let wire = drain(&mut server);
            assert_eq!(wire[0], 0xc1, "FIN, RSV1, text: compressed");
            assert!(wire.len() < 2 * (JSON.len() + 2), "smaller than plain");
            client.recv(&wire);
            for _ in 0..2 {
                assert_eq!(client.poll_event().unwrap(), Some(Event::Text(JSON.into())));
            }
            wires.push(wire);
        }
        assert_eq!(wires[0], wires[1], "the same bytes for every subscriber");
        // Both copies on one connection are the same frame: no context.
        let half = wires[0].len() / 2;
        assert_eq!(wires[0][..half], wires[0][half..]);
    }

    #[test]
    fn every_window_size_inflates_what_it_is_sent() {
        let prepared = PreparedMessage::new(JSON.repeat(20));
        for bits in [9, 12, 15] {
            let (mut server, mut client) = pair(no_context(bits), DeflateConfig::default());
            server.send_prepared(&prepared).unwrap();
            client.recv(&drain(&mut server));
            assert_eq!(
                client.poll_event().unwrap(),
                Some(Event::Text(JSON.repeat(20).into()))
            );
        }
    }

    #[test]
    fn context_takeover_compresses_per_connection_and_stays_in_sync() {
        let (mut server, mut client) = pair(DeflateParams::default(), DeflateConfig::default());
        let prepared = PreparedMessage::new(JSON);
        server.send_prepared(&prepared).unwrap();
        let first = drain(&mut server);
        server.send_prepared(&prepared).unwrap();
        let second = drain(&mut server);
        assert!(
            second.len() < first.len(),
            "the second refers back to the first"
        );
        client.recv(&first);
        client.recv(&second);
        for _ in 0..2 {
            assert_eq!(client.poll_event().unwrap(), Some(Event::Text(JSON.into())));
        }
        // Interleaved with plain sends, the context stays shared.
        server.send(JSON).unwrap();
        server.send_prepared(&prepared).unwrap();
        client.recv(&drain(&mut server));
        for _ in 0..2 {
            assert_eq!(client.poll_event().unwrap(), Some(Event::Text(JSON.into())));
        }
    }

    #[test]
    fn small_messages_stay_uncompressed() {
        let (mut server, _) = pair(no_context(15), DeflateConfig::default());
        server.send_prepared(&PreparedMessage::new("hi")).unwrap();
        assert_eq!(drain(&mut server), b"\x81\x02hi");
    }
}
