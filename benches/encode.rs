//! Encoding throughput through `Connection::encode`: whole messages written
//! back to back into a 64 KiB output buffer that is handed to a sink when the
//! next frame does not fit (a transport batching its writes; the sink counts
//! the bytes and reads the ends of each write, it copies nothing).
//!
//! Workloads (`benches/peers/src/workloads.rs`): 10,000 x 16 B ASCII text
//! and 1,000 x 64 KiB binary, each in the client role (masked with a fresh
//! key per frame, fused with the copy) and the server role (a plain copy).
//!
//! Ids are `encode/<workload>/<role>`. Throughput is payload bytes (decimal
//! MB/s), and messages for the 16-byte workload.
//!
//! ```text
//! cargo bench --bench encode -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wscore::Role;

#[path = "peers/src/workloads.rs"]
mod workloads;

use workloads::{wscore_decode, wscore_encode, Messages, Sink, ENCODE, OUT_BUF, READ_BUF};

/// A client's output decodes, at a server, to the messages sent.
fn sanity_check(messages: &Messages) {
    let mut sink = Sink::capturing();
    wscore_encode(Role::Client, messages, &mut vec![0; OUT_BUF], &mut sink);
    let sent = sink.capture.expect("capturing");
    assert_eq!(wscore_decode(Role::Server, &sent, &mut vec![0; READ_BUF]), messages.tally());
}

fn encode(c: &mut Criterion) {
    let mut out = vec![0u8; OUT_BUF];
    for w in &ENCODE {
        let messages = Messages::of(w);
        sanity_check(&messages);
        let mut group = c.benchmark_group(format!("encode/{}", w.id));
        if w.len <= 16 {
            group.throughput(Throughput::Elements(w.messages as u64));
        } else {
            group.throughput(Throughput::BytesDecimal(w.payload_bytes()));
        }
        for (name, role) in [("client", Role::Client), ("server", Role::Server)] {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let mut sink = Sink::default();
                    wscore_encode(role, black_box(&messages), &mut out, &mut sink);
                    black_box((sink.bytes, sink.check))
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, encode);
criterion_main!(benches);
