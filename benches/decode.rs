//! Decoding throughput: a server reading masked client frames from memory
//! through `Connection::read`, the way a transport drives it (the README's
//! loop, with a 64 KiB input buffer refilled from the stream).
//!
//! Workloads (`benches/peers/src/workloads.rs`, shared with the peers
//! comparison): 10,000 x 16 B ASCII text; 10,000 x 1 KiB mixed UTF-8 text;
//! 1,000 x 64 KiB binary; 100 x 1 MiB binary; 1,000 x 64 KiB text sent as 16
//! continuation fragments of 4 KiB. Each stream is built once; an iteration
//! decodes all of it from a fresh copy (decoding unmasks in place), counting
//! and checksumming every message, and checks the tally.
//!
//! Ids are `decode/<workload>/wscore`, and `decode/<workload>/copy-only` for
//! the copy of the stream into the input buffer alone (included in the
//! first: it stands for the socket read). Throughput is payload bytes
//! (decimal MB/s), and messages for the 16-byte workload.
//!
//! ```text
//! cargo bench --bench decode -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench decode -- 'decode/16B-text/'            # one workload
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use wscore::Role;

#[path = "peers/src/workloads.rs"]
mod workloads;

use workloads::{client_stream, copy_only, wscore_decode, DECODE, READ_BUF};

fn decode(c: &mut Criterion) {
    let mut buf = vec![0u8; READ_BUF];
    for w in &DECODE {
        let stream = client_stream(w);
        let mut group = c.benchmark_group(format!("decode/{}", w.id));
        if w.len <= 16 {
            group.throughput(Throughput::Elements(w.messages as u64));
        } else {
            group.throughput(Throughput::BytesDecimal(w.payload_bytes()));
        }
        if stream.bytes.len() > 8 << 20 {
            // Milliseconds per iteration: a few flat samples are plenty.
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_function("wscore", |b| {
            b.iter(|| {
                let tally = wscore_decode(Role::Server, black_box(&stream.bytes), &mut buf);
                assert_eq!(tally, stream.expected);
            })
        });
        group.bench_function("copy-only", |b| {
            b.iter(|| copy_only(black_box(&stream.bytes), &mut buf))
        });
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
