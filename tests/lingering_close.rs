//! Every failure ends cleanly on the wire: a peer that breaks a rule and
//! keeps writing receives our Close with the rule's code, then EOF, never a
//! reset (RFC 6455 §7.1.1: closing a socket with unread input resets it,
//! and the peer's stack may then drop the Close it had already received).
//! Both adapters, both roles, 50 runs of each case, over real TCP on
//! 127.0.0.1.
#![cfg(feature = "tokio")]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::{decode_all, frame, sent_close_code};
use rfc6455::handshake::{accept_key, ClientRequest};
use rfc6455::{Config, Role, StreamError};

const RUNS: usize = 50;
/// What the peer keeps writing after its violation: more than it can have
/// in flight unread when we close, had we not drained it.
const TRAILING: usize = 256 * 1024;

#[derive(Clone, Copy, Debug)]
enum Adapter {
    Blocking,
    Tokio,
}

/// One way to fail the connection, as seen from the side that fails.
#[derive(Clone, Copy, Debug)]
enum Violation {
    /// 1002: a frame not masked as the role requires.
    Masking,
    /// 1007: a text message that is not UTF-8.
    InvalidUtf8,
    /// 1008: more empty fragments than `max_empty_fragments`.
    EmptyFragments,
    /// 1009: a frame announcing more than `max_frame_size`.
    TooBig,
    /// 1011: nothing at all arrives after a keepalive ping.
    Keepalive,
}

impl Violation {
    const ALL: [Violation; 5] = [
        Violation::Masking,
        Violation::InvalidUtf8,
        Violation::EmptyFragments,
        Violation::TooBig,
        Violation::Keepalive,
    ];

    fn code(self) -> u16 {
        match self {
            Violation::Masking => 1002,
            Violation::InvalidUtf8 => 1007,
            Violation::EmptyFragments => 1008,
            Violation::TooBig => 1009,
            Violation::Keepalive => 1011,
        }
    }

    /// The bytes that break the rule, written by the peer of `failing`.
    fn bytes(self, failing: Role) -> Vec<u8> {
        // The peer masks when it is the client, except to break masking.
        let masked = failing == Role::Server;
        match self {
            Violation::Masking => frame(0x1, true, b"wrong masking", !masked),
            Violation::InvalidUtf8 => frame(0x1, true, b"ok \xff\xfe no", masked),
            Violation::EmptyFragments => {
                let mut out = frame(0x1, false, b"", masked);
                for _ in 0..100 {
                    out.extend_from_slice(&frame(0x0, false, b"", masked));
                }
                out
            }
            Violation::TooBig => {
                // A binary frame header announcing 20 MB; its payload is
                // what the peer goes on writing.
                let mut out = vec![0x82, if masked { 0xff } else { 0x7f }];
                out.extend_from_slice(&20_000_000u64.to_be_bytes());
                if masked {
                    out.extend_from_slice(&[1, 2, 3, 4]);
                }
                out
            }
            Violation::Keepalive => Vec::new(),
        }
    }
}

fn config() -> Config {
    Config::default()
        .max_frame_size(1 << 20)
        .keepalive(Duration::from_millis(100), Duration::from_millis(100))
        .close_timeout(Duration::from_secs(2))
}

/// The peer's side: after the handshake, writes the violation and keeps
/// writing `TRAILING` bytes (nothing for a silent peer) from another
/// thread, then ends its side; meanwhile reads everything to EOF. Returns
/// the close code it received, or what went wrong (a reset).
fn misbehave(stream: TcpStream, violation: Violation, failing: Role) -> Result<u16, String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let bytes = violation.bytes(failing);
    let silent = matches!(violation, Violation::Keepalive);
    let writing = thread::spawn(move || {
        if silent {
            return Ok(());
        }
        writer.write_all(&bytes)?;
        let chunk = vec![0x20u8; 16 * 1024];
        let mut left = TRAILING;
        while left > 0 {
            let n = left.min(chunk.len());
            writer.write_all(&chunk[..n])?;
            left -= n;
        }
        writer.shutdown(Shutdown::Write)
    });
    let mut reader = stream;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    let read_result = loop {
        match reader.read(&mut chunk) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                seen.extend_from_slice(&chunk[..n]);
                // A silent peer answers nothing but ends its side once it
                // has our Close, as real clients do.
                if silent && sent_close_code(&decode_all(&seen)).is_some() {
                    let _ = reader.shutdown(Shutdown::Write);
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => break Err(format!("read: {e}")),
        }
    };
    let wrote = writing.join().unwrap();
    read_result?;
    wrote.map_err(|e| format!("write: {e}"))?;
    sent_close_code(&decode_all(&seen)).ok_or_else(|| "no Close before EOF".to_owned())
}

/// Reads an HTTP head off `stream`.
fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "EOF in the head");
        head.push(byte[0]);
    }
    head
}

/// Our server fails a raw client's connection.
fn server_fails(adapter: Adapter, violation: Violation) -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        match adapter {
            Adapter::Blocking => {
                let mut ws =
                    rfc6455::blocking::accept_with(tcp, config(), |_| Ok(Default::default()))
                        .unwrap();
                loop {
                    if let Err(e) = ws.recv() {
                        return e;
                    }
                }
            }
            Adapter::Tokio => runtime().block_on(async move {
                tcp.set_nonblocking(true).unwrap();
                let tcp = tokio::net::TcpStream::from_std(tcp).unwrap();
                let mut ws = rfc6455::tokio::accept_with(tcp, config(), |_| Ok(Default::default()))
                    .await
                    .unwrap();
                loop {
                    if let Err(e) = ws.recv().await {
                        return e;
                    }
                }
            }),
        }
    });
    let mut tcp = TcpStream::connect(addr).unwrap();
    let request = ClientRequest::new(&format!("ws://{addr}/")).unwrap();
    tcp.write_all(&request.encode()).unwrap();
    assert!(read_head(&mut tcp).starts_with(b"HTTP/1.1 101"));
    let seen = misbehave(tcp, violation, Role::Server);
    check_error(server.join().unwrap(), violation);
    seen
}

/// Our client fails a raw server's connection.
fn client_fails(adapter: Adapter, violation: Violation) -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let client = thread::spawn(move || {
        let request = ClientRequest::new(&url).unwrap();
        match adapter {
            Adapter::Blocking => {
                let tcp = TcpStream::connect((request.host(), request.port())).unwrap();
                let (mut ws, _) = rfc6455::blocking::client(tcp, &request, config()).unwrap();
                loop {
                    if let Err(e) = ws.recv() {
                        return e;
                    }
                }
            }
            Adapter::Tokio => runtime().block_on(async move {
                let (mut ws, _) = rfc6455::tokio::connect_with(request, config())
                    .await
                    .unwrap();
                loop {
                    if let Err(e) = ws.recv().await {
                        return e;
                    }
                }
            }),
        }
    });
    let (mut tcp, _) = listener.accept().unwrap();
    let head = String::from_utf8(read_head(&mut tcp)).unwrap();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key.as_bytes())
    );
    tcp.write_all(answer.as_bytes()).unwrap();
    let seen = misbehave(tcp, violation, Role::Client);
    check_error(client.join().unwrap(), violation);
    seen
}

fn check_error(error: StreamError, violation: Violation) {
    match error {
        StreamError::Protocol(e) => {
            assert_eq!(e.close_code().0, violation.code(), "{violation:?}: {e}")
        }
        other => panic!("{violation:?}: {other}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn every_run(role: Role) {
    let mut failures = Vec::new();
    for adapter in [Adapter::Blocking, Adapter::Tokio] {
        for violation in Violation::ALL {
            for run in 0..RUNS {
                let seen = match role {
                    Role::Server => server_fails(adapter, violation),
                    Role::Client => client_fails(adapter, violation),
                };
                match seen {
                    Ok(code) if code == violation.code() => {}
                    other => {
                        failures.push(format!("{adapter:?} {violation:?} run {run}: {other:?}"))
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_failing_server_sends_its_close_then_eof_never_a_reset() {
    every_run(Role::Server);
}

#[test]
fn a_failing_client_sends_its_close_then_eof_never_a_reset() {
    every_run(Role::Client);
}
