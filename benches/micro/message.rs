//! Whole messages through the core, side by side with tungstenite.
//!
//! - `message/recv/*`: masked client frames (the server's view) fed to a
//!   [`Connection`] and taken out with `poll_event`; tungstenite reads the
//!   same bytes through `WebSocket::read` from an in-memory stream that
//!   replays them forever. Single frame and four fragments, text and
//!   binary.
//! - `message/send/*`: `send` plus draining `transmit` (server: unmasked,
//!   client: masked); tungstenite's `send` into `io::sink()`.
//!
//! `cargo bench -p rfc6455-micro-benches --bench message`

use std::hint::black_box;
use std::io::{self, Read, Write};

use bytes::{Buf, Bytes};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rfc6455::frame::{apply_mask, FrameHeader, OpCode};
use rfc6455::{Config, Connection, Event, Role};
use tungstenite::protocol::{Role as TRole, WebSocket};
use tungstenite::Message as TMessage;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const FRAGMENTS: usize = 4;

const SIZES: [(usize, &str); 4] = [
    (20, "20 B"),
    (1024, "1 KiB"),
    (16 * 1024, "16 KiB"),
    (1024 * 1024, "1 MiB"),
];

/// Mostly ASCII text with some two- and three-byte characters, exactly
/// `len` bytes.
fn text(len: usize) -> String {
    let pattern = "Hello, wörld! ✓ messages ";
    let mut out = String::with_capacity(len);
    'fill: loop {
        for ch in pattern.chars() {
            if out.len() + ch.len_utf8() > len {
                break 'fill;
            }
            out.push(ch);
        }
    }
    while out.len() < len {
        out.push('x');
    }
    out
}

fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 + 17) as u8).collect()
}

/// The bytes a client sends for `payload`: `fragments` masked frames.
fn client_frames(opcode: OpCode, payload: &[u8], fragments: usize) -> Vec<u8> {
    let piece = payload.len().div_ceil(fragments).max(1);
    let pieces: Vec<&[u8]> = payload.chunks(piece).collect();
    let mut out = Vec::with_capacity(payload.len() + 14 * pieces.len());
    for (i, chunk) in pieces.iter().enumerate() {
        let mut header = FrameHeader::new(
            if i == 0 { opcode } else { OpCode::Continuation },
            chunk.len() as u64,
        );
        header.fin = i + 1 == pieces.len();
        header.mask = Some(KEY);
        header.encode(&mut out);
        let start = out.len();
        out.extend_from_slice(chunk);
        apply_mask(&mut out[start..], KEY, 0);
    }
    out
}

/// An endless in-memory stream: reads replay `data` round and round,
/// writes vanish.
struct Replay {
    data: Vec<u8>,
    pos: usize,
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let take = (buf.len() - n).min(self.data.len() - self.pos);
            buf[n..n + take].copy_from_slice(&self.data[self.pos..self.pos + take]);
            n += take;
            self.pos = (self.pos + take) % self.data.len();
        }
        Ok(n)
    }
}

impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn recv(c: &mut Criterion) {
    for (kind, opcode) in [("text", OpCode::Text), ("binary", OpCode::Binary)] {
        let mut group = c.benchmark_group(format!("message/recv/{kind}"));
        for (size, label) in SIZES {
            if size >= 1024 * 1024 {
                group.sample_size(20);
            }
            let payload = match opcode {
                OpCode::Text => text(size).into_bytes(),
                _ => binary(size),
            };
            assert_eq!(payload.len(), size);
            group.throughput(Throughput::Bytes(size as u64));
            for fragments in [1, FRAGMENTS] {
                let wire = client_frames(opcode, &payload, fragments);
                let shape = if fragments == 1 {
                    "1 frame".to_string()
                } else {
                    format!("{fragments} frames")
                };
                let mut conn = Connection::new(Role::Server, Config::default());
                group.bench_function(BenchmarkId::new(format!("rfc6455 {shape}"), label), |b| {
                    b.iter(|| {
                        conn.recv(black_box(&wire));
                        loop {
                            match conn.poll_event() {
                                // `as_bytes`: `len()` through `Deref<Target = str>` would
                                // validate the text a second time.
                                Ok(Some(Event::Text(t))) => break t.as_bytes().len(),
                                Ok(Some(Event::Binary(b))) => break b.len(),
                                other => assert!(matches!(other, Ok(None)), "{other:?}"),
                            }
                        }
                    })
                });
                let mut ws = WebSocket::from_raw_socket(
                    Replay {
                        data: wire.clone(),
                        pos: 0,
                    },
                    TRole::Server,
                    None,
                );
                group.bench_function(
                    BenchmarkId::new(format!("tungstenite {shape}"), label),
                    |b| b.iter(|| ws.read().unwrap().len()),
                );
            }
        }
        group.finish();
    }
}

fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("message/send");
    for (size, label) in SIZES {
        if size >= 1024 * 1024 {
            group.sample_size(20);
        }
        group.throughput(Throughput::Bytes(size as u64));
        let payload = Bytes::from(binary(size));
        for (role, trole, name) in [
            (Role::Server, TRole::Server, "server"),
            (Role::Client, TRole::Client, "client (masked)"),
        ] {
            let mut conn = Connection::new(role, Config::default());
            group.bench_function(BenchmarkId::new(format!("rfc6455 {name}"), label), |b| {
                b.iter(|| {
                    conn.send(payload.clone()).unwrap();
                    let out = conn.transmit();
                    let mut written = 0;
                    while out.has_remaining() {
                        let chunk = black_box(out.chunk()).len();
                        out.advance(chunk);
                        written += chunk;
                    }
                    written
                })
            });
            let mut ws = WebSocket::from_raw_socket(
                Replay {
                    data: vec![0],
                    pos: 0,
                },
                trole,
                None,
            );
            group.bench_function(
                BenchmarkId::new(format!("tungstenite {name}"), label),
                |b| b.iter(|| ws.send(TMessage::Binary(payload.clone())).unwrap()),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, recv, send);
criterion_main!(benches);
