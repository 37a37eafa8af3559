//! The blocking adapter over real TCP sockets on 127.0.0.1.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rfc6455::blocking::{self, WebSocket};
use rfc6455::handshake::{self, AcceptOptions, ClientRequest, Refusal};
use rfc6455::{CloseCode, CloseFrame, Config, Error, Event, Message, State, StreamError};

/// Starts a one-connection server running `serve` and returns its URL.
fn serve_one<F>(serve: F) -> (String, thread::JoinHandle<()>)
where
    F: FnOnce(TcpStream) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        serve(stream);
    });
    (url, handle)
}

fn echo(stream: TcpStream) {
    let mut ws = blocking::accept(stream).unwrap();
    while let Some(message) = ws.recv_message().unwrap() {
        ws.send(message).unwrap();
    }
    let State::Closed(status) = ws.state() else {
        panic!("not closed")
    };
    assert!(status.clean);
}

#[test]
fn echo_round_trip() {
    let (url, server) = serve_one(echo);
    let (mut ws, response) = blocking::connect(&url).unwrap();
    assert_eq!(response.status(), 101);

    ws.send("héllo").unwrap();
    assert_eq!(ws.recv().unwrap(), Event::Text("héllo".into()));
    let big: Vec<u8> = (0..1 << 20).map(|i| i as u8).collect();
    ws.send(big.clone()).unwrap();
    assert_eq!(
        ws.recv_message().unwrap(),
        Some(Message::Binary(big.into()))
    );
    ws.send("").unwrap();
    assert_eq!(ws.recv().unwrap(), Event::Text("".into()));
    ws.ping("are you there").unwrap();
    assert_eq!(ws.recv().unwrap(), Event::Pong("are you there".into()));

    ws.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(
        ws.recv().unwrap(),
        Event::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
    );
    assert!(matches!(ws.recv(), Err(StreamError::Closed)));
    server.join().unwrap();
}

#[test]
fn bytes_after_the_handshake_are_not_lost() {
    let (url, server) = serve_one(echo);
    let request = ClientRequest::new(&url).unwrap();
    let mut raw = TcpStream::connect((request.host(), request.port())).unwrap();
    // The request and a first frame in one write: the server reads both at once.
    let mut bytes = request.encode();
    bytes.extend(client_frame(0x1, true, b"early"));
    raw.write_all(&bytes).unwrap();
    let mut buf = Vec::new();
    let response = loop {
        let mut chunk = [0u8; 1024];
        let n = raw.read(&mut chunk).unwrap();
        buf.extend_from_slice(&chunk[..n]);
        if let rfc6455::Parsed::Complete(r, used) =
            request.parse_response(&buf, &Default::default()).unwrap()
        {
            break (r, used);
        }
    };
    let mut ws = WebSocket::from_raw(
        raw,
        rfc6455::Role::Client,
        Config::default(),
        &buf[response.1..],
    );
    assert_eq!(ws.recv().unwrap(), Event::Text("early".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    while !matches!(ws.recv(), Ok(Event::Close(_)) | Err(_)) {}
    server.join().unwrap();
}

#[test]
fn accept_hook_sees_the_request_and_can_refuse() {
    let (url, server) = serve_one(|stream| {
        let result = blocking::accept_with(stream, Config::default(), |request| {
            assert_eq!(request.path(), "/");
            assert_eq!(request.protocols(), ["v2.chat", "v1.chat"]);
            if request.origin() == Some("https://evil.example") {
                return Err(Refusal::new(403).body("no"));
            }
            Ok(AcceptOptions::default())
        });
        assert!(matches!(result, Err(StreamError::Refused { status: 403 })));
    });
    let request = ClientRequest::new(&url)
        .unwrap()
        .protocols(["v2.chat", "v1.chat"])
        .unwrap()
        .header("Origin", "https://evil.example")
        .unwrap();
    match blocking::connect_with(request, Config::default()) {
        Err(StreamError::Handshake(error)) => {
            let handshake::Error::Rejected(rejection) = *error else {
                panic!("expected a 403 rejection, got {error:?}");
            };
            assert_eq!(rejection.status, 403);
            assert_eq!(rejection.body, b"no");
        }
        other => panic!("expected a 403 rejection, got {other:?}"),
    }
    server.join().unwrap();
}

#[test]
fn accept_hook_chooses_a_subprotocol() {
    let (url, server) = serve_one(|stream| {
        let mut ws = blocking::accept_with(stream, Config::default(), |request| {
            let chosen = request
                .protocols()
                .iter()
                .find(|p| *p == "v1.chat")
                .cloned();
            Ok(AcceptOptions {
                protocol: chosen,
                ..Default::default()
            })
        })
        .unwrap();
        while ws.recv_message().unwrap().is_some() {}
    });
    let request = ClientRequest::new(&url)
        .unwrap()
        .protocols(["v2.chat", "v1.chat"])
        .unwrap();
    let (mut ws, response) = blocking::connect_with(request, Config::default()).unwrap();
    assert_eq!(response.protocol(), Some("v1.chat"));
    ws.close(CloseCode::NORMAL, "").unwrap();
    while !matches!(ws.recv(), Ok(Event::Close(_)) | Err(_)) {}
    server.join().unwrap();
}

#[test]
fn wrong_version_gets_426() {
    let (url, server) = serve_one(|stream| {
        assert!(matches!(
            blocking::accept(stream),
            Err(StreamError::Handshake(_))
        ));
    });
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .unwrap();
    let mut response = String::new();
    raw.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(response.contains("Sec-WebSocket-Version: 13"), "{response}");
    server.join().unwrap();
}

/// Completes a client handshake by hand and then never answers.
fn silent_client(url: &str) -> TcpStream {
    let request = ClientRequest::new(url).unwrap();
    let mut raw = TcpStream::connect((request.host(), request.port())).unwrap();
    raw.write_all(&request.encode()).unwrap();
    let mut buf = Vec::new();
    while !request
        .parse_response(&buf, &Default::default())
        .unwrap()
        .is_complete()
    {
        let mut chunk = [0u8; 1024];
        let n = raw.read(&mut chunk).unwrap();
        buf.extend_from_slice(&chunk[..n]);
    }
    raw
}

#[test]
fn close_timeout_ends_the_wait_for_a_silent_peer() {
    let (url, server) = serve_one(|stream| {
        let config = Config::default().close_timeout(Duration::from_millis(300));
        let mut ws =
            blocking::accept_with(stream, config, |_| Ok(AcceptOptions::default())).unwrap();
        ws.close(CloseCode::NORMAL, "").unwrap();
        let started = Instant::now();
        assert!(matches!(
            ws.recv(),
            Err(StreamError::Protocol(Error::CloseTimeout))
        ));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
    });
    let raw = silent_client(&url);
    server.join().unwrap();
    drop(raw);
}

#[test]
fn keepalive_detects_a_silent_peer() {
    let (url, server) = serve_one(|stream| {
        // The silent peer never closes either: the linger after the
        // failure ends with the close timeout.
        let config = Config::default()
            .keepalive(Duration::from_millis(200), Duration::from_millis(200))
            .close_timeout(Duration::from_millis(500));
        let mut ws =
            blocking::accept_with(stream, config, |_| Ok(AcceptOptions::default())).unwrap();
        let started = Instant::now();
        assert!(matches!(
            ws.recv(),
            Err(StreamError::Protocol(Error::KeepaliveTimeout))
        ));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(350) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
    });
    let mut raw = silent_client(&url);
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        match raw.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
        }
    }
    let frames = decode_all(&seen);
    assert_eq!(
        frames[0].opcode,
        rfc6455::frame::OpCode::Ping,
        "a keepalive ping first"
    );
    assert_eq!(sent_close_code(&frames), Some(1011), "then close 1011");
    server.join().unwrap();
}

#[test]
fn protocol_error_sends_close_then_closes_tcp() {
    let (url, server) = serve_one(|stream| {
        let mut ws = blocking::accept(stream).unwrap();
        assert!(matches!(
            ws.recv(),
            Err(StreamError::Protocol(Error::Protocol(_)))
        ));
        drop(ws);
    });
    let mut raw = silent_client(&url);
    raw.write_all(&frame(0x1, true, b"unmasked", false))
        .unwrap();
    let mut seen = Vec::new();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.read_to_end(&mut seen).unwrap();
    assert_eq!(sent_close_code(&decode_all(&seen)), Some(1002));
    server.join().unwrap();
}
