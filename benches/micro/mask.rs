//! Masking throughput (RFC 6455 §5.3) by payload size, with a plain copy of
//! the same buffer as the reference line: unmasking should approach memcpy.
//!
//! `cargo bench -p rfc6455-micro-benches --bench mask`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rfc6455::frame::{apply_mask, apply_mask_bytewise};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

const SIZES: [(usize, &str); 6] = [
    (16, "16 B"),
    (64, "64 B"),
    (1024, "1 KiB"),
    (16 * 1024, "16 KiB"),
    (1024 * 1024, "1 MiB"),
    (64 * 1024 * 1024, "64 MiB"),
];

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for (size, label) in SIZES {
        if size >= 64 * 1024 * 1024 {
            // A few samples are enough and keep the run short.
            group.sample_size(10);
            group.warm_up_time(Duration::from_millis(500));
            group.measurement_time(Duration::from_secs(3));
        }
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = payload(size);
        group.bench_function(BenchmarkId::new("apply_mask", label), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), KEY, 0))
        });
        // An odd offset rotates the key: the phase a payload split across
        // reads sees.
        group.bench_function(BenchmarkId::new("apply_mask offset 3", label), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), KEY, 3))
        });
        // Unaligned start in memory.
        if size > 1 {
            group.bench_function(BenchmarkId::new("apply_mask unaligned", label), |b| {
                b.iter(|| apply_mask(black_box(&mut buf[1..]), KEY, 0))
            });
        }
        if size <= 1024 * 1024 {
            group.bench_function(BenchmarkId::new("bytewise", label), |b| {
                b.iter(|| apply_mask_bytewise(black_box(&mut buf), KEY, 0))
            });
        }
        let src = payload(size);
        group.bench_function(BenchmarkId::new("memcpy (reference)", label), |b| {
            b.iter(|| black_box(&mut buf).copy_from_slice(black_box(&src)))
        });
    }
    group.finish();
}

criterion_group!(benches, mask);
criterion_main!(benches);
