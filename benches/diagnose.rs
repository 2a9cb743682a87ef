//! Benchmarks: one typical Exchange Online header block, and throughput over the real corpus.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mxtrace::profile::Profile;
use mxtrace::{Message, diagnose};
use std::hint::black_box;
use std::path::Path;

/// The allocator the `mxtrace` binary ships with, so the numbers are the tool's.
#[global_allocator]
static ALLOCATOR: mxtrace::alloc::Mimalloc = mxtrace::alloc::Mimalloc;

fn analyse(bytes: &[u8], profile: &Profile) -> usize {
    let Ok(message) = Message::from_bytes(bytes) else {
        return 0;
    };
    diagnose(&message, profile).map_or(0, |d| d.hops.len() + d.findings.len())
}

fn one_exchange_online_block(c: &mut Criterion) {
    let bytes = include_bytes!("../samples/headers/exo-inbound-from-gmail.eml");
    let profile = Profile::default();
    let mut group = c.benchmark_group("exchange-online-block");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse+analyse", |b| {
        b.iter(|| analyse(black_box(bytes), &profile))
    });
    group.finish();
}

fn corpus_throughput(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/phishing_pot");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "corpus not found at {}; skipping the corpus benchmark",
            dir.display()
        );
        return;
    };
    let blocks: Vec<Vec<u8>> = entries
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .collect();
    let bytes: u64 = blocks.iter().map(|b| b.len() as u64).sum();
    let profile = Profile::default();
    let mut group = c.benchmark_group("corpus");
    group.sample_size(10);
    group.throughput(Throughput::Elements(blocks.len() as u64));
    group.bench_function("messages", |b| {
        b.iter(|| blocks.iter().map(|m| analyse(m, &profile)).sum::<usize>())
    });
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("bytes", |b| {
        b.iter(|| blocks.iter().map(|m| analyse(m, &profile)).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, one_exchange_online_block, corpus_throughput);
criterion_main!(benches);
