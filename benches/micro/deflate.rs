//! permessage-deflate throughput: compress and inflate whole messages.
//!
//! `cargo bench -p rfc6455-micro-benches --bench deflate`

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rfc6455::deflate::{Compressor, Decompressor};

/// Chat-like JSON: repetitive keys, varying values.
fn json(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 100);
    let mut i = 0u32;
    while out.len() < size {
        let line = format!(
            r#"{{"type":"message","room":"lobby","from":"user{}","text":"hello number {} from the bench"}},"#,
            i % 37,
            i
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(size);
    out
}

fn compress(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate/compress");
    for size in [1024, 16 * 1024, 256 * 1024] {
        let payload = json(size);
        group.throughput(Throughput::Bytes(size as u64));
        for level in [1, 6] {
            group.bench_with_input(
                BenchmarkId::new(format!("level {level}"), size),
                &payload,
                |b, payload| {
                    // No context takeover: a repeated payload must not match the last one.
                    let mut compressor = Compressor::new(15, true, level);
                    let mut out = BytesMut::with_capacity(size);
                    b.iter(|| {
                        out.clear();
                        compressor.compress(payload, &mut out);
                        out.len()
                    });
                },
            );
        }
    }
    group.finish();
}

fn inflate(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate/inflate");
    for size in [1024, 16 * 1024, 256 * 1024] {
        let payload = json(size);
        // No context takeover, so every message inflates on its own.
        let mut compressor = Compressor::new(15, true, 1);
        let mut compressed = BytesMut::new();
        compressor.compress(&payload, &mut compressed);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(size),
            &compressed,
            |b, compressed| {
                let mut decompressor = Decompressor::new(15, true);
                let mut out = BytesMut::with_capacity(size);
                b.iter(|| {
                    out.clear();
                    decompressor
                        .decompress(compressed, &mut out, usize::MAX)
                        .unwrap();
                    decompressor.finish_message(&mut out, usize::MAX).unwrap();
                    out.len()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, compress, inflate);
criterion_main!(benches);
