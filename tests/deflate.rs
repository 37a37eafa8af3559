//! permessage-deflate on a connection: negotiation glue, compressed
//! messages both ways, and what a hostile compressed stream gets.
#![cfg(feature = "deflate")]

mod common;

use bytes::BytesMut;
use common::*;
use rfc6455::deflate::{Compressor, DeflateConfig, DeflateParams};
use rfc6455::frame::{OpCode, RSV1};
use rfc6455::handshake::{
    AcceptOptions, ClientAction, ClientHandshake, ClientRequest, ServerAction, ServerHandshake,
};
use rfc6455::{Config, Connection, Error, Event, Extensions, Message, ProtocolError, Role};

fn deflate_config() -> Config {
    Config::default().deflate(DeflateConfig::default())
}

/// Runs both handshake machines against each other, as the adapters do.
fn negotiated_pair(config: Config) -> Pair {
    let now = std::time::Instant::now();
    let request = ClientRequest::new("ws://a/").unwrap();
    let mut client = ClientHandshake::new(request, config.clone(), now).unwrap();
    let mut server = ServerHandshake::new(config, now);
    assert_eq!(client.poll_action(), ClientAction::Write);
    server.recv(client.transmit());
    let n = client.transmit().len();
    client.advance(n);
    assert_eq!(server.poll_action(), ServerAction::Decide);
    server.accept(AcceptOptions::default());
    assert_eq!(server.poll_action(), ServerAction::Write);
    client.recv(server.transmit());
    let n = server.transmit().len();
    server.advance(n);
    assert_eq!(server.poll_action(), ServerAction::Done);
    assert_eq!(client.poll_action(), ClientAction::Done);
    let server = server.finish().unwrap();
    let (client, _) = client.finish().unwrap();
    assert!(
        server.extensions().deflate().is_some(),
        "server accepted the offer"
    );
    assert_eq!(client.extensions(), server.extensions());
    Pair { client, server }
}

#[test]
fn compressed_messages_both_ways() {
    let mut pair = negotiated_pair(deflate_config());
    let text = "hello hello hello hello hello hello hello hello €".repeat(50);
    let binary = vec![42u8; 100_000];
    for _ in 0..3 {
        pair.client.send(text.as_str()).unwrap();
        pair.server.send(binary.clone()).unwrap();
    }
    pair.client.send("tiny").unwrap(); // below min_compress_size: sent as is
    let wire = decode_all(&{
        let mut probe = negotiated_pair(deflate_config());
        probe.server.send(binary.clone()).unwrap();
        drain(&mut probe.server)
    });
    assert!(
        wire[0].payload.len() < 1000,
        "compressed on the wire: {}",
        wire[0].payload.len()
    );
    let result = pair.pump();
    let mut expected_server = vec![Event::Text(text.as_str().into()); 3];
    expected_server.push(Event::Text("tiny".into()));
    assert_eq!(result.server_events, expected_server);
    assert_eq!(result.client_events, vec![Event::Binary(binary.into()); 3]);
}

#[test]
fn rsv1_without_negotiation_is_a_protocol_error() {
    let (_, error, out) = server_reacts(Config::default(), &frame_rsv(0x1, true, RSV1, b"x", true));
    assert_eq!(error, Some(ProtocolError::ReservedBits(RSV1).into()));
    assert_eq!(sent_close_code(&out), Some(1002));
}

fn compressed_server() -> Connection {
    let params = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let ext = Extensions::with_deflate(params);
    Connection::with_extensions(
        Role::Server,
        deflate_config().max_message_size(1 << 20),
        &ext,
    )
}

fn compress(data: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    Compressor::new(15, false, 6).compress(data, &mut out);
    out.to_vec()
}

#[test]
fn rsv1_on_a_continuation_is_a_protocol_error() {
    let mut server = compressed_server();
    let payload = compress(b"abc");
    server.recv(&frame_rsv(0x1, false, RSV1, &payload, true));
    server.recv(&frame_rsv(0x0, true, RSV1, b"", true));
    assert_eq!(
        server.poll_event(),
        Err(ProtocolError::ReservedBits(RSV1).into())
    );
}

#[test]
fn fragmented_compressed_message() {
    let mut server = compressed_server();
    let payload = compress("κόσμε ".repeat(100).as_bytes());
    let (a, b) = payload.split_at(payload.len() / 2);
    server.recv(&frame_rsv(0x1, false, RSV1, a, true));
    server.recv(&client_frame(0x9, true, b"ping"));
    server.recv(&frame_rsv(0x0, true, 0, b, true));
    assert_eq!(server.poll_event(), Ok(Some(Event::Ping("ping".into()))));
    assert_eq!(
        server.poll_event(),
        Ok(Some(Event::Text("κόσμε ".repeat(100).into())))
    );
}

#[test]
fn decompression_bomb_is_1009_and_bounded() {
    let mut server = compressed_server();
    let bomb = compress(&vec![0u8; 50 << 20]); // 50 MiB of zeros, ~50 KiB compressed
    assert!(bomb.len() < 100_000);
    server.recv(&frame_rsv(0x2, true, RSV1, &bomb, true));
    assert!(matches!(
        server.poll_event(),
        Err(Error::MessageTooLarge { .. })
    ));
    assert_eq!(
        sent_close_code(&decode_all(&drain(&mut server))),
        Some(1009)
    );
}

#[test]
fn corrupt_compressed_data_is_1007() {
    let mut server = compressed_server();
    server.recv(&frame_rsv(
        0x2,
        true,
        RSV1,
        &[0xff, 0xff, 0xff, 0xff, 0xff],
        true,
    ));
    assert_eq!(server.poll_event(), Err(Error::InvalidCompressedData));
    assert_eq!(
        sent_close_code(&decode_all(&drain(&mut server))),
        Some(1007)
    );
}

#[test]
fn invalid_utf8_inside_compressed_text_is_1007() {
    let mut server = compressed_server();
    server.recv(&frame_rsv(
        0x1,
        true,
        RSV1,
        &compress(&[b'a', 0xff, b'b']),
        true,
    ));
    assert_eq!(server.poll_event(), Err(Error::InvalidUtf8));
}

#[test]
fn control_frames_and_fragments_are_never_compressed() {
    let mut pair = negotiated_pair(deflate_config());
    pair.server.ping("p".repeat(100).into()).unwrap();
    pair.server
        .send_fragment(rfc6455::MessageKind::Text, "x".repeat(1000).into(), true)
        .unwrap();
    pair.server.send(Message::from("y".repeat(1000))).unwrap();
    let out = decode_all(&drain(&mut pair.server));
    assert_eq!(out[0].opcode, OpCode::Ping);
    assert_eq!(
        out[1].payload.len(),
        1000,
        "fragmented send goes uncompressed"
    );
    assert!(out[2].payload.len() < 100, "a whole message is compressed");
}
