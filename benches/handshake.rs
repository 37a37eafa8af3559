//! The server side of the opening handshake: parse a browser-like request
//! and write the `101` answer, side by side with tungstenite's
//! `Request::try_parse` + `create_response` + `write_response`.
//!
//! `cargo bench --all-features --bench handshake`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rfc6455::handshake::{accept_key, parse_request, AcceptOptions, Limits, Parsed};
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

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake/server");
    group.throughput(Throughput::Elements(1));
    let limits = Limits::default();
    group.bench_function("rfc6455 parse + accept", |b| {
        b.iter(|| {
            let Ok(Parsed::Complete(request, _)) = parse_request(black_box(REQUEST), &limits)
            else {
                unreachable!()
            };
            request.accept(&AcceptOptions::default()).unwrap().len()
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
