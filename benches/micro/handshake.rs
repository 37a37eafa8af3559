//! The server side of the opening handshake: parse a browser-like request
//! and write the `101` answer, side by side with tungstenite's
//! `Request::try_parse` + `create_response` + `write_response`; and the
//! whole server machine (`ServerHandshake`: bytes in, 101 out, a
//! `Connection`) side by side with `tungstenite::accept` over an in-memory
//! stream (bytes in, 101 out, a `WebSocket`).
//!
//! `cargo bench -p rfc6455-micro-benches --bench handshake`

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rfc6455::handshake::{
    accept_key, parse_request, AcceptOptions, Limits, Parsed, ServerAction, ServerHandshake,
};
use rfc6455::{Config, Connection};
use tungstenite::handshake::machine::TryParse;
use tungstenite::handshake::server::{create_response, write_response, Request};

/// What Chromium sends, give or take the cookie.
const REQUEST: &[u8] = b"GET /chat?room=lobby HTTP/1.1\r\n\
Host: localhost:9001\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:9001\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=0123456789abcdef0123456789abcdef\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

/// The server machine driven as an adapter drives it, with the request
/// read in one piece and the answer written in one piece.
fn server_machine(
    config: &Config,
    now: Instant,
    request: &[u8],
    answer: &mut Vec<u8>,
) -> Connection {
    let mut hs = ServerHandshake::new(config.clone(), now);
    hs.recv(request);
    assert_eq!(hs.poll_action(), ServerAction::Decide);
    hs.accept(AcceptOptions::default());
    assert_eq!(hs.poll_action(), ServerAction::Write);
    answer.clear();
    answer.extend_from_slice(hs.transmit());
    hs.advance(answer.len());
    assert_eq!(hs.poll_action(), ServerAction::Done);
    hs.finish().expect("accepted")
}

/// A stream that gives `input` and collects what is written.
struct Memory {
    input: &'static [u8],
    output: Vec<u8>,
}

impl Read for Memory {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake/server");
    group.throughput(Throughput::Elements(1));
    let limits = Limits::default();
    let config = Config::default();
    group.bench_function("rfc6455 parse + accept", |b| {
        b.iter(|| {
            let Ok(Parsed::Complete(request, _)) = parse_request(black_box(REQUEST), &limits)
            else {
                unreachable!()
            };
            request
                .accept(&AcceptOptions::default(), &config)
                .unwrap()
                .encode()
                .len()
        })
    });
    group.bench_function("tungstenite parse + accept", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            let (_, request) = Request::try_parse(black_box(REQUEST)).unwrap().unwrap();
            let response = create_response(&request).unwrap();
            out.clear();
            write_response(&mut out, &response).unwrap();
            out.len()
        })
    });
    group.bench_function(
        "rfc6455 ServerHandshake (bytes in, 101 out, Connection)",
        |b| {
            let now = Instant::now();
            let mut answer = Vec::with_capacity(256);
            b.iter(|| server_machine(&config, now, black_box(REQUEST), &mut answer))
        },
    );
    group.bench_function("rfc6455 ServerHandshake, permessage-deflate agreed", |b| {
        let config = Config::default().deflate(rfc6455::deflate::DeflateConfig::default());
        let now = Instant::now();
        let mut answer = Vec::with_capacity(256);
        b.iter(|| {
            let conn = server_machine(&config, now, black_box(REQUEST), &mut answer);
            debug_assert!(conn.extensions().deflate().is_some());
            conn
        })
    });
    group.bench_function("tungstenite accept (bytes in, 101 out, WebSocket)", |b| {
        b.iter(|| {
            let stream = Memory {
                input: black_box(REQUEST),
                output: Vec::with_capacity(256),
            };
            tungstenite::accept(stream).unwrap()
        })
    });
    group.bench_function("rfc6455 parse only", |b| {
        b.iter(|| match parse_request(black_box(REQUEST), &limits) {
            Ok(Parsed::Complete(_, n)) => n,
            _ => unreachable!(),
        })
    });
    group.bench_function("tungstenite parse only", |b| {
        b.iter(|| Request::try_parse(black_box(REQUEST)).unwrap().unwrap().0)
    });
    group.bench_function("accept_key (SHA-1 + base64)", |b| {
        b.iter(|| accept_key(black_box(b"dGhlIHNhbXBsZSBub25jZQ==")))
    });
    group.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
