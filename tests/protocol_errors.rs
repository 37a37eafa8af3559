//! Every framing rule of RFC 6455 that a peer can break fails the
//! connection with a typed error and the right close code on the wire.

mod common;

use common::*;
use rfc6455::frame::OpCode;
use rfc6455::{Config, Connection, Error, ProtocolError, Role, State};

fn server_fails_with(input: &[u8], expected: Error, code: u16) {
    let (_, error, out) = server_reacts(Config::default(), input);
    assert_eq!(error, Some(expected), "input {input:02x?}");
    assert_eq!(
        sent_close_code(&out),
        Some(code),
        "close code for {expected:?}"
    );
    assert_eq!(out.len(), 1, "only the close frame is sent");
}

#[test]
fn reserved_bits_without_extension() {
    for rsv in 1..8 {
        let input = frame_rsv(0x1, true, rsv, b"x", true);
        server_fails_with(&input, ProtocolError::ReservedBits(rsv).into(), 1002);
    }
}

#[test]
fn reserved_opcodes() {
    for op in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        server_fails_with(
            &client_frame(op, true, b""),
            ProtocolError::ReservedOpcode(op).into(),
            1002,
        );
    }
}

#[test]
fn fragmented_control_frame() {
    server_fails_with(
        &client_frame(0x9, false, b"p"),
        ProtocolError::FragmentedControlFrame.into(),
        1002,
    );
}

#[test]
fn control_frame_over_125_bytes() {
    let input = client_frame(0x9, true, &[0u8; 126]);
    server_fails_with(
        &input,
        ProtocolError::ControlFrameTooLarge(126).into(),
        1002,
    );
    // 125 is fine.
    let (events, error, out) =
        server_reacts(Config::default(), &client_frame(0x9, true, &[7u8; 125]));
    assert_eq!((events.len(), error), (1, None));
    assert_eq!(out[0].opcode, OpCode::Pong);
    assert_eq!(out[0].payload, vec![7u8; 125]);
}

#[test]
fn continuation_with_nothing_to_continue() {
    server_fails_with(
        &client_frame(0x0, true, b"x"),
        ProtocolError::UnexpectedContinuation.into(),
        1002,
    );
}

#[test]
fn new_message_inside_fragmented_one() {
    let mut input = client_frame(0x1, false, b"a");
    input.extend(client_frame(0x2, true, b"b"));
    server_fails_with(&input, ProtocolError::ExpectedContinuation.into(), 1002);
}

#[test]
fn server_requires_masking_and_client_refuses_it() {
    server_fails_with(
        &frame(0x1, true, b"x", false),
        ProtocolError::UnmaskedFrame.into(),
        1002,
    );

    let mut client = Connection::new(Role::Client, Config::default());
    client.recv(&frame(0x1, true, b"x", true));
    assert_eq!(client.poll_event(), Err(ProtocolError::MaskedFrame.into()));
    let out = decode_all(&drain(&mut client));
    assert_eq!(sent_close_code(&out), Some(1002));
    assert!(out[0].masked, "a client's close frame is masked");
}

#[test]
fn invalid_utf8_text_is_1007() {
    server_fails_with(
        &client_frame(0x1, true, &[0xce, 0xba, 0xff]),
        Error::InvalidUtf8,
        1007,
    );
    // Cut inside a character at the end of the message.
    server_fails_with(
        &client_frame(0x1, true, &[b'a', 0xe2, 0x82]),
        Error::InvalidUtf8,
        1007,
    );
}

#[test]
fn invalid_utf8_fails_fast_inside_an_incomplete_frame() {
    // Autobahn 6.4.x: the frame announces 100 bytes but only a prefix with
    // an invalid sequence has arrived. The connection must fail now.
    let full = {
        let mut payload = "κόσμε".as_bytes().to_vec();
        payload.extend_from_slice(&[0xf4, 0x90, 0x80, 0x80]);
        payload.resize(100, b'a');
        client_frame(0x1, true, &payload)
    };
    let prefix = &full[..6 + 14];
    let (events, error, out) = server_reacts(Config::default(), prefix);
    assert!(events.is_empty());
    assert_eq!(error, Some(Error::InvalidUtf8));
    assert_eq!(sent_close_code(&out), Some(1007));
}

#[test]
fn invalid_utf8_fails_fast_across_fragments() {
    let mut input = client_frame(0x1, false, "κόσμε".as_bytes());
    input.extend(client_frame(0x0, false, &[0xed, 0xa0, 0x80])); // a surrogate
                                                                 // No final fragment: the error must not wait for one.
    let (_, error, out) = server_reacts(Config::default(), &input);
    assert_eq!(error, Some(Error::InvalidUtf8));
    assert_eq!(sent_close_code(&out), Some(1007));
}

#[test]
fn close_payload_rules() {
    server_fails_with(
        &client_frame(0x8, true, &[0x03]),
        ProtocolError::CloseFrameTooShort.into(),
        1002,
    );
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        server_fails_with(
            &client_frame(0x8, true, &close_payload(code, "")),
            ProtocolError::InvalidCloseCode(code).into(),
            1002,
        );
    }
    let mut bad_reason = close_payload(1000, "");
    bad_reason.extend_from_slice(&[0xce, 0xba, 0xff]);
    server_fails_with(
        &client_frame(0x8, true, &bad_reason),
        Error::InvalidCloseReason,
        1007,
    );
}

#[test]
fn a_failed_connection_reports_its_state_and_ignores_further_input() {
    let mut server = Connection::new(Role::Server, Config::default());
    server.recv(&frame(0x1, true, b"x", false));
    assert!(server.poll_event().is_err());
    let State::Closed(status) = server.state().clone() else {
        panic!("not closed")
    };
    assert_eq!((status.code.0, status.clean), (1002, false));
    server.recv(&client_frame(0x1, true, b"more"));
    assert_eq!(server.poll_event(), Ok(None));
    drain(&mut server);
    assert!(server.should_shutdown());
    assert_eq!(server.send("x"), Err(rfc6455::SendError::Closed));
}
