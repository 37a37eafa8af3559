//! Fragmented messages, control frames between fragments, and zero-copy
//! delivery of single-frame messages (RFC 6455 §5.4).

mod common;

use bytes::BufMut;
use common::*;
use rfc6455::frame::OpCode;
use rfc6455::{Config, Connection, Event, MessageKind, Role, SendError};

#[test]
fn reassembles_with_interleaved_control_frames() {
    let mut input = client_frame(0x1, false, "Hel".as_bytes());
    input.extend(client_frame(0x9, true, b"ping"));
    input.extend(client_frame(0x0, false, b"l"));
    input.extend(client_frame(0xA, true, b"pong"));
    input.extend(client_frame(0x0, true, "o €".as_bytes()));
    let (events, error, out) = server_reacts(Config::default(), &input);
    assert_eq!(error, None);
    assert_eq!(
        events,
        vec![
            Event::Ping("ping".into()),
            Event::Pong("pong".into()),
            Event::Text("Hello €".into())
        ]
    );
    assert_eq!(
        out,
        vec![WireFrame {
            fin: true,
            opcode: OpCode::Pong,
            masked: false,
            payload: b"ping".to_vec()
        }]
    );
}

#[test]
fn a_character_split_across_fragments_is_fine() {
    let euro = "€".as_bytes();
    let mut input = client_frame(0x1, false, &euro[..1]);
    input.extend(client_frame(0x0, false, &euro[1..2]));
    input.extend(client_frame(0x0, true, &euro[2..]));
    let (events, error, _) = server_reacts(Config::default(), &input);
    assert_eq!((events, error), (vec![Event::Text("€".into())], None));
}

#[test]
fn empty_messages_and_empty_fragments() {
    let mut input = client_frame(0x1, true, b"");
    input.extend(client_frame(0x2, false, b""));
    input.extend(client_frame(0x0, false, b""));
    input.extend(client_frame(0x0, true, b""));
    let (events, error, _) = server_reacts(Config::default(), &input);
    assert_eq!(
        (events, error),
        (vec![Event::Text("".into()), Event::Binary("".into())], None)
    );
}

#[test]
fn single_frame_message_is_not_copied() {
    let mut client = Connection::new(Role::Client, Config::default());
    let payload = vec![42u8; 10_000];
    let input = frame(0x2, true, &payload, false);
    let buf = client.read_buf();
    buf.reserve(input.len());
    buf.put_slice(&input);
    let start = buf.as_ptr() as usize;
    let Ok(Some(Event::Binary(data))) = client.poll_event() else {
        panic!()
    };
    assert_eq!(data.len(), 10_000);
    assert_eq!(
        data.as_ptr() as usize,
        start + 4,
        "payload handed out in place"
    );
}

#[test]
fn sending_fragments() {
    let mut conn = Connection::new(Role::Server, Config::default());
    let euro = bytes::Bytes::from_static("€".as_bytes());
    conn.send_fragment(MessageKind::Text, euro.slice(..1), false)
        .unwrap();
    assert_eq!(
        conn.send("whole"),
        Err(SendError::FragmentedMessageInProgress)
    );
    assert_eq!(
        conn.send_fragment(MessageKind::Binary, "x".into(), true),
        Err(SendError::FragmentKindMismatch)
    );
    conn.ping("p".into()).unwrap();
    conn.send_fragment(MessageKind::Text, euro.slice(1..), true)
        .unwrap();
    let out = decode_all(&drain(&mut conn));
    let shape: Vec<_> = out.iter().map(|f| (f.opcode, f.fin)).collect();
    assert_eq!(
        shape,
        vec![
            (OpCode::Text, false),
            (OpCode::Ping, true),
            (OpCode::Continuation, true)
        ]
    );

    let mut conn = Connection::new(Role::Server, Config::default());
    conn.send_fragment(MessageKind::Text, euro.slice(..1), false)
        .unwrap();
    assert_eq!(
        conn.send_fragment(MessageKind::Text, "a".into(), true),
        Err(SendError::InvalidUtf8)
    );
}
