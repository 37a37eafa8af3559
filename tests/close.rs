//! The closing handshake from either side, its timeout, and the transport
//! close that follows (RFC 6455 §5.5.1, §7).

mod common;

use std::time::{Duration, Instant};

use common::*;
use rfc6455::frame::OpCode;
use rfc6455::{CloseCode, CloseFrame, Config, Connection, Error, Event, Role, SendError, State};

#[test]
fn client_initiated_close() {
    let mut pair = Pair::new();
    pair.close_from_client();
    assert_eq!(pair.client.state(), &State::Closing);
    let result = pair.pump();
    assert_eq!(
        result.server_events,
        vec![Event::Close(Some(CloseFrame::new(
            CloseCode::NORMAL,
            "bye"
        )))]
    );
    assert_eq!(
        result.client_events,
        vec![Event::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))]
    );
    let State::Closed(server) = pair.server.state().clone() else {
        panic!()
    };
    let State::Closed(client) = pair.client.state().clone() else {
        panic!()
    };
    assert!(server.clean && !server.initiated_locally);
    assert!(client.clean && client.initiated_locally);
    assert_eq!(
        (server.code, server.reason.as_str()),
        (CloseCode::NORMAL, "bye")
    );
    // The server closes the transport first; the client waits for it.
    assert!(pair.server.should_shutdown());
    assert!(!pair.client.should_shutdown());
    pair.client.recv_eof();
    assert!(pair.client.should_shutdown());
    assert_eq!(
        pair.client.poll_event(),
        Ok(None),
        "EOF after a clean close is no error"
    );
}

#[test]
fn server_initiated_close_echoes_the_code() {
    let mut pair = Pair::new();
    pair.server.close(CloseCode::GOING_AWAY, "restart").unwrap();
    let result = pair.pump();
    assert_eq!(
        result.client_events,
        vec![Event::Close(Some(CloseFrame::new(
            CloseCode::GOING_AWAY,
            "restart"
        )))]
    );
    assert_eq!(
        result.server_events,
        vec![Event::Close(Some(CloseFrame::new(
            CloseCode::GOING_AWAY,
            ""
        )))]
    );
    assert!(pair.server.should_shutdown());
}

#[test]
fn close_without_status_is_answered_without_status() {
    let (events, error, out) = server_reacts(Config::default(), &client_frame(0x8, true, b""));
    assert_eq!((events, error), (vec![Event::Close(None)], None));
    assert_eq!(
        out,
        vec![WireFrame {
            fin: true,
            opcode: OpCode::Close,
            masked: false,
            payload: vec![]
        }]
    );
}

#[test]
fn second_close_is_a_no_op_and_nothing_follows_a_close() {
    let mut conn = Connection::new(Role::Server, Config::default());
    conn.close(CloseCode::NORMAL, "").unwrap();
    conn.close(CloseCode::PROTOCOL_ERROR, "again").unwrap();
    assert_eq!(conn.send("late"), Err(SendError::Closed));
    assert_eq!(conn.ping("p".into()), Err(SendError::Closed));
    let out = decode_all(&drain(&mut conn));
    assert_eq!(out.len(), 1);
    assert_eq!(sent_close_code(&out), Some(1000));
}

#[test]
fn local_close_arguments_are_checked() {
    let mut conn = Connection::new(Role::Server, Config::default());
    assert_eq!(
        conn.close(CloseCode(1005), ""),
        Err(SendError::InvalidCloseCode(1005))
    );
    assert_eq!(
        conn.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(SendError::CloseReasonTooLong(124))
    );
    assert!(conn.state().is_open());
    conn.close(CloseCode::NORMAL, &"x".repeat(123)).unwrap();
}

#[test]
fn messages_still_arrive_while_closing() {
    let mut pair = Pair::new();
    pair.server.send("in flight").unwrap();
    pair.close_from_client();
    let result = pair.pump();
    assert_eq!(result.client_events[0], Event::Text("in flight".into()));
    assert!(matches!(result.client_events[1], Event::Close(_)));
}

#[test]
fn close_timeout_fails_a_silent_peer() {
    let t0 = Instant::now();
    let config = Config::default().close_timeout(Duration::from_secs(2));
    let mut client = Connection::new(Role::Client, config);
    client.handle_timeout(t0);
    client.close(CloseCode::NORMAL, "").unwrap();
    // Armed at the next report, from that time, not from the last one
    // (which may be long past on an idle connection): until then the
    // connection asks to be told the time at once.
    assert_eq!(client.poll_timeout(), Some(t0));
    let t1 = t0 + Duration::from_secs(60);
    client.handle_timeout(t1);
    assert_eq!(
        client.poll_event(),
        Ok(None),
        "not expired by the idle minute"
    );
    let deadline = client.poll_timeout().expect("close timer armed");
    assert_eq!(deadline, t1 + Duration::from_secs(2));
    client.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(client.poll_event(), Ok(None));
    client.handle_timeout(deadline);
    assert_eq!(client.poll_event(), Err(Error::CloseTimeout));
    drain(&mut client);
    assert!(client.should_shutdown());
    let State::Closed(status) = client.state() else {
        panic!()
    };
    assert!(!status.clean);
    assert_eq!(status.code, CloseCode::ABNORMAL);
}

#[test]
fn client_stops_waiting_for_the_server_to_close_tcp() {
    let t0 = Instant::now();
    let mut pair = Pair::with_config(Config::default().close_timeout(Duration::from_secs(1)));
    pair.client.handle_timeout(t0);
    pair.server.close(CloseCode::NORMAL, "").unwrap();
    pair.pump();
    assert!(!pair.client.should_shutdown());
    pair.client.handle_timeout(t0);
    let deadline = pair.client.poll_timeout().unwrap();
    pair.client.handle_timeout(deadline);
    assert!(pair.client.should_shutdown());
    assert_eq!(
        pair.client.poll_event(),
        Ok(None),
        "the close was clean; no error"
    );
}

#[test]
fn eof_without_close_is_abnormal() {
    let mut server = Connection::new(Role::Server, Config::default());
    server.recv(&client_frame(0x1, true, b"hi"));
    server.recv_eof();
    assert_eq!(
        server.poll_event(),
        Ok(Some(Event::Text("hi".into()))),
        "buffered data comes first"
    );
    assert_eq!(server.poll_event(), Err(Error::AbnormalClosure));
    assert!(
        drain(&mut server).is_empty(),
        "no close frame into a closed transport"
    );
    let State::Closed(status) = server.state() else {
        panic!()
    };
    assert_eq!(status.code, CloseCode::ABNORMAL);
}

#[test]
fn close_frame_goes_out_even_between_fragments() {
    let mut conn = Connection::new(Role::Server, Config::default());
    conn.send_fragment(rfc6455::MessageKind::Binary, "ab".into(), false)
        .unwrap();
    conn.close(CloseCode::NORMAL, "").unwrap();
    let out = decode_all(&drain(&mut conn));
    assert_eq!(
        out.iter().map(|f| f.opcode).collect::<Vec<_>>(),
        vec![OpCode::Binary, OpCode::Close]
    );
}
