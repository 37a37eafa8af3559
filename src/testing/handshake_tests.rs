//! The opening handshake end to end, on the in-memory [`HandshakePair`].

use std::time::Duration;

use super::HandshakePair;
use crate::handshake::{accept_key, AcceptOptions, ClientRequest, Error, Refusal};
use crate::{Config, Event, Role};

#[test]
fn happy_path_with_a_seeded_key_then_messages_both_ways() {
    let _seeded = crate::rng::seed(1);
    let request = ClientRequest::new("ws://example.com:8080/chat")
        .unwrap()
        .protocols(["v2", "v1"])
        .unwrap();
    let mut hs = HandshakePair::new(request, Config::default(), Config::default(), |r| {
        assert_eq!(r.path(), "/chat");
        Ok(AcceptOptions::default().protocol("v1"))
    });
    hs.drive();
    let key = "wVwCiewtCpFn7I5loY3rvg=="; // the 16 bytes SplitMix64(1) draws
    assert_eq!(
        std::str::from_utf8(&hs.request).unwrap(),
        format!(
            "GET /chat HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v2, v1\r\n\r\n"
        )
    );
    let answer = String::from_utf8(hs.answer.clone()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(answer.contains(&format!(
        "Sec-WebSocket-Accept: {}\r\n",
        accept_key(key.as_bytes())
    )));

    let (mut pair, response) = hs.connect();
    assert_eq!(response.protocol(), Some("v1"));
    assert_eq!(pair.client.conn.role(), Role::Client);
    pair.client.conn.send("ping?").unwrap();
    pair.server.conn.send("pong!").unwrap();
    pair.drive();
    assert_eq!(pair.server.events, [Event::Text("ping?".into())]);
    assert_eq!(pair.client.events, [Event::Text("pong!".into())]);
}

#[test]
fn a_refusal_reaches_the_client_with_its_status_and_body() {
    let mut hs = HandshakePair::new(
        ClientRequest::new("ws://a/").unwrap(),
        Config::default(),
        Config::default(),
        |_| Err(Refusal::new(403).body("not you")),
    );
    hs.drive();
    assert!(hs.answer.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
    let outcome = hs.finish();
    assert_eq!(outcome.server.unwrap_err(), Error::Refused { status: 403 });
    match outcome.client {
        Err(Error::Rejected(r)) => assert_eq!((r.status, &r.body[..]), (403, &b"not you"[..])),
        other => panic!("{:?}", other.map(|(_, r)| r)),
    }
}

#[test]
fn an_answer_the_server_cannot_give_is_a_500_on_both_sides() {
    // The client offered no subprotocol, so the server may not pick one.
    let hs = HandshakePair::accepting("ws://a/", AcceptOptions::default().protocol("v1"));
    let outcome = hs.finish();
    assert!(matches!(outcome.server, Err(Error::Build(_))));
    match outcome.client {
        Err(Error::Rejected(r)) => assert_eq!(r.status, 500),
        other => panic!("{:?}", other.map(|(_, r)| r)),
    }
}

#[test]
fn a_silent_client_gets_408_at_the_deadline() {
    let config = Config::default().handshake_timeout(Duration::from_secs(10));
    let mut hs = HandshakePair::new(
        ClientRequest::new("ws://a/").unwrap(),
        config.clone(),
        config,
        |_| Ok(AcceptOptions::default()),
    );
    hs.client_frozen = true; // connected, then never sent its request
    hs.advance(Duration::from_secs(10) - Duration::from_millis(1));
    assert!(hs.answer.is_empty(), "refused before the deadline");
    hs.advance(Duration::from_millis(1));
    assert!(hs.answer.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"));
    assert_eq!(hs.elapsed(), Duration::from_secs(10));
    assert_eq!(hs.finish().server.unwrap_err(), Error::Timeout);
}

#[test]
fn a_silent_server_times_the_client_out_at_the_deadline() {
    let config = Config::default().handshake_timeout(Duration::from_secs(3));
    let mut hs = HandshakePair::new(
        ClientRequest::new("ws://a/").unwrap(),
        config.clone(),
        config,
        |_| Ok(AcceptOptions::default()),
    );
    hs.server_frozen = true;
    hs.advance(Duration::from_secs(3) - Duration::from_millis(1));
    assert_eq!(
        hs.client.poll_action(),
        crate::handshake::ClientAction::Read
    );
    hs.advance(Duration::from_millis(1));
    assert_eq!(
        hs.client.poll_action(),
        crate::handshake::ClientAction::Done
    );
    assert_eq!(hs.finish().client.map(|_| ()).unwrap_err(), Error::Timeout);
}
