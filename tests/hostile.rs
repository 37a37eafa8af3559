//! Hostile and broken peers against both adapters.
//!
//! Each attack must end with a clear, typed error on the server and a
//! proper HTTP status or close code on the wire, with memory bounded, while
//! the same server keeps serving a well-behaved client. The attacker is a
//! raw `TcpStream` speaking bytes; the servers are ours, one per adapter
//! (the tokio one on a single-threaded runtime, so one stuck connection
//! would stall every other).
#![cfg(feature = "tokio")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::client_frame;
use rfc6455::blocking::Transport;
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::handshake::{self, AcceptOptions};
use rfc6455::{CloseCode, Config, Error, Message, Parsed, StreamError};

#[derive(Clone, Copy, Debug)]
enum Adapter {
    Blocking,
    Tokio,
}

const ADAPTERS: [Adapter; 2] = [Adapter::Blocking, Adapter::Tokio];

/// What each server connection does once accepted.
#[derive(Clone)]
enum Behaviour {
    /// Echo every data message until the peer closes.
    Echo,
    /// Send `message` over and over (a broadcast the peer never reads),
    /// giving up on a send that waits longer than `patience`.
    Flood { message: Bytes, patience: Duration },
}

/// How one server connection ended.
#[derive(Debug)]
enum Outcome {
    /// Echo: the peer closed cleanly.
    Echoed,
    /// Flood: the slow peer was dropped; the most bytes ever queued.
    DroppedSlowPeer {
        max_buffered: usize,
    },
    Failed(StreamError),
}

struct Server {
    addr: SocketAddr,
    outcomes: mpsc::Receiver<Outcome>,
}

impl Server {
    fn start(adapter: Adapter, config: Config, behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, outcomes) = mpsc::channel();
        match adapter {
            Adapter::Blocking => {
                thread::spawn(move || {
                    for tcp in listener.incoming() {
                        let Ok(tcp) = tcp else { return };
                        let (config, behaviour, tx) =
                            (config.clone(), behaviour.clone(), tx.clone());
                        thread::spawn(move || {
                            let _ = tx.send(serve_blocking(tcp, config, behaviour));
                        });
                    }
                });
            }
            Adapter::Tokio => {
                thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async move {
                        listener.set_nonblocking(true).unwrap();
                        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                        loop {
                            let Ok((tcp, _)) = listener.accept().await else {
                                return;
                            };
                            let (config, behaviour, tx) =
                                (config.clone(), behaviour.clone(), tx.clone());
                            tokio::spawn(async move {
                                let _ = tx.send(serve_tokio(tcp, config, behaviour).await);
                            });
                        }
                    });
                });
            }
        }
        Server { addr, outcomes }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// The next connection outcome that is not a well-behaved client's.
    fn attack_outcome(&self, within: Duration) -> Outcome {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.outcomes.recv_timeout(left) {
                Ok(Outcome::Echoed) => continue,
                Ok(outcome) => return outcome,
                Err(_) => {
                    panic!("the server did not end the attacking connection within {within:?}")
                }
            }
        }
    }
}

/// The attackers below never close: after failing them the server lingers
/// for their end until the close timeout, shortened here to 1 s.
fn lingering() -> Config {
    Config::default().close_timeout(Duration::from_secs(1))
}

fn accept_any(_: &handshake::Request) -> Result<AcceptOptions, handshake::Refusal> {
    Ok(AcceptOptions::default())
}

fn serve_blocking(tcp: TcpStream, config: Config, behaviour: Behaviour) -> Outcome {
    let mut ws = match rfc6455::blocking::accept_with(tcp, config, accept_any) {
        Ok(ws) => ws,
        Err(e) => return Outcome::Failed(e),
    };
    match behaviour {
        Behaviour::Echo => loop {
            match ws.recv_message() {
                Ok(Some(message)) => {
                    if let Err(e) = ws.send(message) {
                        return Outcome::Failed(e);
                    }
                }
                Ok(None) => return Outcome::Echoed,
                Err(e) => return Outcome::Failed(e),
            }
        },
        Behaviour::Flood { message, patience } => {
            ws.get_mut().set_write_timeout(Some(patience)).unwrap();
            let mut max_buffered = 0;
            loop {
                let sent = ws.send(Message::Binary(message.clone()));
                max_buffered = max_buffered.max(ws.connection().buffered_amount());
                match sent {
                    Ok(()) => {}
                    Err(StreamError::Io(e)) if is_timeout(&e) => break,
                    Err(e) => return Outcome::Failed(e),
                }
            }
            let _ = ws.close(CloseCode::POLICY_VIOLATION, "too slow");
            Outcome::DroppedSlowPeer { max_buffered }
        }
    }
}

async fn serve_tokio(tcp: tokio::net::TcpStream, config: Config, behaviour: Behaviour) -> Outcome {
    let mut ws = match rfc6455::tokio::accept_with(tcp, config, accept_any).await {
        Ok(ws) => ws,
        Err(e) => return Outcome::Failed(e),
    };
    match behaviour {
        Behaviour::Echo => loop {
            match ws.recv_message().await {
                Ok(Some(message)) => {
                    if let Err(e) = ws.send(message).await {
                        return Outcome::Failed(e);
                    }
                }
                Ok(None) => return Outcome::Echoed,
                Err(e) => return Outcome::Failed(e),
            }
        },
        Behaviour::Flood { message, patience } => {
            let mut max_buffered = 0;
            loop {
                let fed = tokio::time::timeout(patience, ws.feed(Message::Binary(message.clone())));
                let fed = fed.await;
                max_buffered = max_buffered.max(ws.buffered_amount());
                match fed {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Outcome::Failed(e),
                    Err(_slow) => break,
                }
            }
            let _ = ws.close(CloseCode::POLICY_VIOLATION, "too slow").await;
            Outcome::DroppedSlowPeer { max_buffered }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// A well-behaved client: a round trip and a clean close. Panics on
/// anything else.
fn good_client_round_trip(url: &str) {
    let (mut ws, _) = rfc6455::blocking::connect(url).expect("good client connects");
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    ws.send("still serving").unwrap();
    match ws.recv_message().unwrap() {
        Some(Message::Text(text)) => assert_eq!(text.as_str(), "still serving"),
        other => panic!("good client got {other:?}"),
    }
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    while ws.recv().is_ok() {}
}

/// Runs the good client while an attack is under way.
fn served_meanwhile(server: &Server) {
    let url = server.url();
    let started = Instant::now();
    good_client_round_trip(&url);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the good client waited {:?}",
        started.elapsed()
    );
}

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// A raw client past the opening handshake.
fn raw_client(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(REQUEST.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            tcp.read(&mut byte).unwrap(),
            1,
            "server closed during handshake"
        );
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// Everything the server sends until it closes the connection (or
/// `within` passes).
fn read_to_end(tcp: &mut TcpStream, within: Duration) -> Vec<u8> {
    let deadline = Instant::now() + within;
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        tcp.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        match tcp.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) => {}
            Err(_) => break, // reset: the server gave up on us
        }
    }
    bytes
}

/// The server's frames in `bytes` (unmasked), stopping at a partial one.
fn server_frames(mut bytes: &[u8]) -> Vec<(OpCode, Vec<u8>)> {
    let mut frames = Vec::new();
    while let Ok(Parsed::Complete(header, used)) = FrameHeader::parse(bytes) {
        let len = header.payload_len as usize;
        if bytes.len() < used + len {
            break;
        }
        frames.push((header.opcode, bytes[used..used + len].to_vec()));
        bytes = &bytes[used + len..];
    }
    frames
}

fn close_code(frames: &[(OpCode, Vec<u8>)]) -> Option<u16> {
    frames
        .iter()
        .find(|(op, _)| *op == OpCode::Close)
        .map(|(_, p)| u16::from_be_bytes([p[0], p[1]]))
}

#[test]
fn slowloris_handshake_ends_with_408() {
    for adapter in ADAPTERS {
        let timeout = Duration::from_millis(600);
        let server = Server::start(
            adapter,
            Config::default().handshake_timeout(timeout),
            Behaviour::Echo,
        );
        let mut tcp = TcpStream::connect(server.addr).unwrap();
        let started = Instant::now();
        // One byte every 50 ms: each read is quick, the head never ends.
        let trickle = thread::spawn(move || {
            for &byte in REQUEST.as_bytes().iter().take(40) {
                if tcp.write_all(&[byte]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            read_to_end(&mut tcp, Duration::from_secs(3))
        });
        served_meanwhile(&server);
        let outcome = server.attack_outcome(Duration::from_secs(5));
        let took = started.elapsed();
        assert!(
            matches!(outcome, Outcome::Failed(StreamError::HandshakeTimeout)),
            "{adapter:?}: {outcome:?}"
        );
        assert!(
            took >= timeout && took < timeout * 3,
            "{adapter:?}: ended after {took:?}"
        );
        let reply = trickle.join().unwrap();
        assert!(
            reply.starts_with(b"HTTP/1.1 408 "),
            "{adapter:?}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
}

/// Sends a handshake head with `extra` header lines and returns the reply.
fn send_head(addr: SocketAddr, extra: &str) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).unwrap();
    let head = REQUEST.replace("\r\n\r\n", &format!("\r\n{extra}\r\n"));
    // The server may stop reading (and reset) part way: that is the point.
    let _ = tcp.write_all(head.as_bytes());
    read_to_end(&mut tcp, Duration::from_secs(3))
}

/// Sends a head with `extra` header lines to each adapter's server while a
/// good client is served; the attacker gets a 431 and the server `expected`.
fn head_refused_with_431(extra: &str, expected: handshake::Error) {
    for adapter in ADAPTERS {
        let server = Server::start(adapter, Config::default(), Behaviour::Echo);
        let attack = thread::spawn({
            let (addr, extra) = (server.addr, extra.to_owned());
            move || send_head(addr, &extra)
        });
        served_meanwhile(&server);
        match server.attack_outcome(Duration::from_secs(5)) {
            Outcome::Failed(StreamError::Handshake(e)) => assert_eq!(*e, expected, "{adapter:?}"),
            outcome => panic!("{adapter:?}: {outcome:?}"),
        }
        let reply = attack.join().unwrap();
        assert!(
            reply.starts_with(b"HTTP/1.1 431 "),
            "{adapter:?}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
}

#[test]
fn oversized_head_gets_431() {
    let big = format!("X-Big: {}\r\n", "a".repeat(64 * 1024));
    head_refused_with_431(
        &big,
        handshake::Error::Request(handshake::RequestError::TooLarge { limit: 8192 }),
    );
}

#[test]
fn header_flood_gets_431() {
    let fields: String = (0..500).map(|i| format!("X-{i}: v\r\n")).collect();
    head_refused_with_431(
        &fields,
        handshake::Error::Request(handshake::RequestError::TooManyHeaders { limit: 64 }),
    );
}

/// A masked binary frame header announcing `len` bytes (64-bit form), and
/// no payload.
fn header_announcing(len: u64) -> Vec<u8> {
    let mut bytes = vec![0x82, 0x80 | 127];
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&common::KEY);
    bytes
}

#[test]
fn huge_length_announcements_fail_before_buffering() {
    // 2^63 breaks the framing rule (the top bit must be 0): 1002. 2^62 is
    // well formed but over max_frame_size: 1009, before a byte of it is
    // buffered.
    let cases = [(1u64 << 63, 1002), (1u64 << 62, 1009)];
    for adapter in ADAPTERS {
        for (len, code) in cases {
            let server = Server::start(adapter, lingering(), Behaviour::Echo);
            let mut tcp = raw_client(server.addr);
            tcp.write_all(&header_announcing(len)).unwrap();
            served_meanwhile(&server);
            let outcome = server.attack_outcome(Duration::from_secs(5));
            let expected = match code {
                1002 => matches!(
                    outcome,
                    Outcome::Failed(StreamError::Protocol(Error::Protocol(
                        rfc6455::ProtocolError::InvalidPayloadLength
                    )))
                ),
                _ => matches!(
                    outcome,
                    Outcome::Failed(StreamError::Protocol(Error::FrameTooLarge { len: l })) if l == len
                ),
            };
            assert!(expected, "{adapter:?} {len}: {outcome:?}");
            let frames = server_frames(&read_to_end(&mut tcp, Duration::from_secs(3)));
            assert_eq!(close_code(&frames), Some(code), "{adapter:?} {len}");
        }
    }
}

#[test]
fn endless_empty_continuations_end_with_1008() {
    for adapter in ADAPTERS {
        let server = Server::start(adapter, lingering(), Behaviour::Echo);
        let mut tcp = raw_client(server.addr);
        let mut flood = client_frame(0x1, false, b"");
        for _ in 0..10_000 {
            flood.extend_from_slice(&client_frame(0x0, false, b""));
        }
        // The server stops reading part way; the rest may be refused.
        let _ = tcp.write_all(&flood);
        served_meanwhile(&server);
        let outcome = server.attack_outcome(Duration::from_secs(5));
        assert!(
            matches!(
                outcome,
                Outcome::Failed(StreamError::Protocol(Error::TooManyEmptyFragments {
                    limit: 64
                }))
            ),
            "{adapter:?}: {outcome:?}"
        );
        let frames = server_frames(&read_to_end(&mut tcp, Duration::from_secs(3)));
        assert_eq!(close_code(&frames), Some(1008), "{adapter:?}");
    }
}

#[test]
fn empty_fragments_within_the_limit_still_make_a_message() {
    // The limit counts only payload-less non-final frames: a message of
    // many small fragments, or a few empty ones, is fine.
    let mut input = client_frame(0x1, false, b"");
    for _ in 0..63 {
        input.extend_from_slice(&client_frame(0x0, false, b""));
    }
    for _ in 0..1000 {
        input.extend_from_slice(&client_frame(0x0, false, b"x"));
    }
    input.extend_from_slice(&client_frame(0x0, true, b""));
    let (events, error, _) = common::server_reacts(Config::default(), &input);
    assert_eq!(error, None);
    assert_eq!(events.len(), 1);
    match events.into_iter().next() {
        Some(rfc6455::Event::Text(text)) => assert_eq!(text.len(), 1000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ping_flood_over_the_wire_gets_the_last_ping_answered() {
    const PINGS: u32 = 100_000; // 13 MB: more than the socket buffers hold
    for adapter in ADAPTERS {
        let server = Server::start(adapter, Config::default(), Behaviour::Echo);
        let tcp = raw_client(server.addr);
        let mut writer = tcp.try_clone().unwrap();
        let flood = thread::spawn(move || {
            let mut batch = Vec::new();
            for i in 0..PINGS {
                let mut payload = [0u8; 125];
                payload[..4].copy_from_slice(&i.to_be_bytes());
                batch.extend_from_slice(&client_frame(0x9, true, &payload));
                if batch.len() > 64 * 1024 {
                    writer.write_all(&batch).unwrap();
                    batch.clear();
                }
            }
            batch.extend_from_slice(&client_frame(
                0x8,
                true,
                &common::close_payload(1000, "done"),
            ));
            writer.write_all(&batch).unwrap();
        });
        // Do not read for a while: the server must not queue without bound
        // meanwhile (tests/limits.rs checks the bound in the core), nor stop
        // serving others.
        thread::sleep(Duration::from_millis(500));
        served_meanwhile(&server);
        let mut reader = tcp;
        let replies = server_frames(&read_to_end(&mut reader, Duration::from_secs(20)));
        flood.join().unwrap();
        let pongs: Vec<_> = replies
            .iter()
            .filter(|(op, _)| *op == OpCode::Pong)
            .collect();
        assert!(
            !pongs.is_empty() && pongs.len() <= PINGS as usize,
            "{adapter:?}"
        );
        let last = &pongs.last().unwrap().1;
        assert_eq!(
            last[..4],
            (PINGS - 1).to_be_bytes(),
            "{adapter:?}: the last ping unanswered"
        );
        assert_eq!(close_code(&replies), Some(1000), "{adapter:?}");
        assert!(matches!(
            server.outcomes.recv_timeout(Duration::from_secs(5)),
            Ok(Outcome::Echoed)
        ));
    }
}

#[test]
fn a_peer_that_never_reads_is_dropped_with_memory_bounded() {
    let message = Bytes::from(vec![0x5a; 64 * 1024]);
    let high_water = Config::default().send_high_water;
    for adapter in ADAPTERS {
        let config = Config::default().close_timeout(Duration::from_millis(300));
        let behaviour = Behaviour::Flood {
            message: message.clone(),
            patience: Duration::from_millis(300),
        };
        let server = Server::start(adapter, config, behaviour);
        let tcp = raw_client(server.addr); // and never reads
        eprintln!("{adapter:?}");
        let outcome = server.attack_outcome(Duration::from_secs(10));
        let Outcome::DroppedSlowPeer { max_buffered } = outcome else {
            panic!("{adapter:?}: {outcome:?}");
        };
        // Never more than the high-water mark plus the message being
        // queued (plus its frame header).
        assert!(
            max_buffered <= high_water + message.len() + 14,
            "{adapter:?}: {max_buffered} bytes queued"
        );
        drop(tcp);
        // The flood server is still there for someone who reads.
        let (mut ws, _) = rfc6455::blocking::connect(&server.url()).unwrap();
        match ws.recv_message().unwrap() {
            Some(Message::Binary(bytes)) => assert_eq!(bytes, message),
            other => panic!("{adapter:?}: {other:?}"),
        }
    }
}

#[test]
fn a_silent_half_open_peer_is_ended_by_keepalive() {
    for adapter in ADAPTERS {
        let config = lingering().keepalive(Duration::from_millis(200), Duration::from_millis(300));
        let server = Server::start(adapter, config, Behaviour::Echo);
        // Handshake done, then nothing: no reads, no writes, no FIN, like a
        // peer whose network vanished.
        let mut tcp = raw_client(server.addr);
        let started = Instant::now();
        served_meanwhile(&server);
        let outcome = server.attack_outcome(Duration::from_secs(5));
        let took = started.elapsed();
        assert!(
            matches!(
                outcome,
                Outcome::Failed(StreamError::Protocol(Error::KeepaliveTimeout))
            ),
            "{adapter:?}: {outcome:?}"
        );
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_secs(3),
            "{adapter:?}: ended after {took:?}"
        );
        let frames = server_frames(&read_to_end(&mut tcp, Duration::from_secs(3)));
        assert_eq!(
            frames.first().map(|f| f.0),
            Some(OpCode::Ping),
            "{adapter:?}"
        );
        assert_eq!(close_code(&frames), Some(1011), "{adapter:?}");
    }
}
