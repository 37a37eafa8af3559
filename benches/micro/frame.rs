//! Frame header decode and encode, side by side with tungstenite's
//! `FrameHeader::parse` / `FrameHeader::format`.
//!
//! `cargo bench -p rfc6455-micro-benches --bench frame`

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rfc6455::frame::{FrameHeader, OpCode};
use rfc6455::Parsed;
use tungstenite::protocol::frame::coding::{Data, OpCode as TOpCode};
use tungstenite::protocol::frame::FrameHeader as THeader;

/// The three length encodings, masked (client to server) and unmasked.
fn cases() -> Vec<(String, FrameHeader)> {
    let mut out = Vec::new();
    for (len, form) in [(20u64, "7-bit"), (1024, "16-bit"), (1 << 20, "64-bit")] {
        for mask in [None, Some([1, 2, 3, 4])] {
            let mut header = FrameHeader::new(OpCode::Binary, len);
            header.mask = mask;
            let name = format!(
                "{form} {}",
                if mask.is_some() { "masked" } else { "unmasked" }
            );
            out.push((name, header));
        }
    }
    out
}

fn theirs(header: &FrameHeader) -> THeader {
    THeader {
        is_final: header.fin,
        opcode: TOpCode::Data(Data::Binary),
        mask: header.mask,
        ..THeader::default()
    }
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame/decode");
    group.throughput(Throughput::Elements(1));
    for (name, header) in cases() {
        let mut bytes = Vec::new();
        header.encode(&mut bytes);
        group.bench_with_input(BenchmarkId::new("rfc6455", &name), &bytes, |b, bytes| {
            b.iter(|| match FrameHeader::parse(black_box(bytes)) {
                Ok(Parsed::Complete(h, n)) => (h.payload_len, n),
                _ => unreachable!(),
            })
        });
        group.bench_with_input(
            BenchmarkId::new("tungstenite", &name),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    let mut cursor = Cursor::new(black_box(bytes.as_slice()));
                    let (h, len) = THeader::parse(&mut cursor).unwrap().unwrap();
                    (h.mask, len, cursor.position())
                })
            },
        );
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame/encode");
    group.throughput(Throughput::Elements(1));
    for (name, header) in cases() {
        let mut out: Vec<u8> = Vec::with_capacity(64);
        group.bench_with_input(BenchmarkId::new("rfc6455", &name), &header, |b, header| {
            b.iter(|| {
                out.clear();
                black_box(header).encode(&mut out);
                out.len()
            })
        });
        let their_header = theirs(&header);
        let len = header.payload_len;
        group.bench_with_input(
            BenchmarkId::new("tungstenite", &name),
            &their_header,
            |b, header| {
                b.iter(|| {
                    out.clear();
                    black_box(header).format(black_box(len), &mut out).unwrap();
                    out.len()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
