//! permessage-deflate throughput (feature `deflate`): compressing and
//! inflating the 1 KiB mixed-text and 64 KiB binary workloads of the decode
//! and encode benches, through `Connection::encode` and `Connection::read`.
//!
//! * `deflate/<workload>/compress-<setting>`: a server encodes every message
//!   compressed (level 1, the default, or 6; with or without context
//!   takeover) into a 64 KiB output buffer, as `benches/encode.rs` does.
//! * `deflate/<workload>/inflate`: a server reads the client's compressed
//!   frames (masked) from a 64 KiB input buffer, as `benches/decode.rs`
//!   does: unmask, inflate, UTF-8 check for text, and checksum.
//! * `deflate/<workload>/plain-encode` and `plain-decode`: the same without
//!   compression, for scale.
//! * `deflate/<workload>/zlib-rs-compress-level1` and `zlib-rs-inflate`: the
//!   same payloads through `zlib-rs` alone (raw DEFLATE, a sync flush per
//!   message, no framing), the faster engine wscore did not pick because it
//!   needs `std`: what the choice of `miniz_oxide` costs. `miniz-inflate`:
//!   the same through `miniz_oxide`'s streaming inflate alone, into a 16 KiB
//!   buffer: what the framing around it costs.
//!
//! Throughput is payload bytes before compression (decimal MB/s). The
//! compressed size of each workload is printed once. The 64 KiB binary
//! payloads are pseudo-random: incompressible, the worst case (stored
//! blocks).
//!
//! ```text
//! cargo bench --bench deflate -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wscore::deflate::{DeflateConfig, DeflateParams};
use wscore::{Config, Connection, Role};

#[path = "peers/src/workloads.rs"]
mod workloads;

use workloads::{
    wscore_decode_with, wscore_encode_with, Messages, Sink, Workload, DECODE, OUT_BUF, READ_BUF,
};

/// The workloads: 10,000 x 1 KiB mixed text and 1,000 x 64 KiB binary.
const WORKLOADS: [Workload; 2] = [DECODE[1], DECODE[2]];

/// A connection in `role` with permessage-deflate agreed on `params`,
/// compressing at `level`.
fn deflating(role: Role, level: u8, params: DeflateParams) -> Connection {
    let deflate = DeflateConfig { level, ..DeflateConfig::default() };
    let config = Config { deflate: Some(deflate), ..Config::default() };
    let mut conn = Connection::with_seed(role, config, [7; 32]);
    conn.enable_deflate(params);
    conn
}

fn no_context_takeover() -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    }
}

fn deflate(c: &mut Criterion) {
    let mut out = vec![0u8; OUT_BUF];
    let mut buf = vec![0u8; READ_BUF];
    for w in &WORKLOADS {
        let messages = Messages::of(w);
        // The client's compressed stream, checked by inflating it once.
        let mut sink = Sink::capturing();
        let client = deflating(Role::Client, 1, DeflateParams::default());
        wscore_encode_with(client, &messages, &mut out, &mut sink);
        let compressed = sink.capture.expect("capturing");
        let server = deflating(Role::Server, 1, DeflateParams::default());
        assert_eq!(wscore_decode_with(server, &compressed, &mut buf), messages.tally());
        println!(
            "deflate/{}: {} payload bytes, {} on the wire compressed at level 1 ({:.1}%)",
            w.id,
            w.payload_bytes(),
            compressed.len(),
            100.0 * compressed.len() as f64 / w.payload_bytes() as f64
        );
        let mut plain = Sink::capturing();
        let client = Connection::with_seed(Role::Client, Config::default(), [7; 32]);
        wscore_encode_with(client, &messages, &mut out, &mut plain);
        let plain = plain.capture.expect("capturing");

        let mut group = c.benchmark_group(format!("deflate/{}", w.id));
        group.throughput(Throughput::BytesDecimal(w.payload_bytes()));
        if w.len > 16 << 10 {
            group.sample_size(10);
        }
        let settings = [
            ("compress-level1", 1, DeflateParams::default()),
            ("compress-level1-no-context-takeover", 1, no_context_takeover()),
            ("compress-level6", 6, DeflateParams::default()),
        ];
        for (name, level, params) in settings {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let mut sink = Sink::default();
                    let conn = deflating(Role::Server, level, params);
                    wscore_encode_with(conn, black_box(&messages), &mut out, &mut sink);
                    black_box((sink.bytes, sink.check))
                })
            });
        }
        group.bench_function("plain-encode", |b| {
            b.iter(|| {
                let mut sink = Sink::default();
                let conn = Connection::with_seed(Role::Server, Config::default(), [7; 32]);
                wscore_encode_with(conn, black_box(&messages), &mut out, &mut sink);
                black_box((sink.bytes, sink.check))
            })
        });
        let tally = messages.tally();
        group.bench_function("inflate", |b| {
            b.iter(|| {
                let conn = deflating(Role::Server, 1, DeflateParams::default());
                assert_eq!(wscore_decode_with(conn, black_box(&compressed), &mut buf), tally);
            })
        });
        group.bench_function("plain-decode", |b| {
            b.iter(|| {
                let conn = Connection::with_seed(Role::Server, Config::default(), [0; 32]);
                assert_eq!(wscore_decode_with(conn, black_box(&plain), &mut buf), tally);
            })
        });
        let payloads: Vec<&[u8]> = messages.iter().collect();
        let zlib_stream = zlib_compress(&payloads);
        group.bench_function("zlib-rs-compress-level1", |b| {
            b.iter(|| black_box(zlib_compress(black_box(&payloads)).len()))
        });
        group.bench_function("zlib-rs-inflate", |b| {
            b.iter(|| {
                let mut zlib = zlib_rs::Inflate::new(false, 15);
                let mut out = vec![0u8; 128 << 10];
                let mut total = 0u64;
                for message in &zlib_stream {
                    let before = zlib.total_out();
                    zlib.decompress(message, &mut out, zlib_rs::InflateFlush::SyncFlush).unwrap();
                    total += zlib.total_out() - before;
                }
                assert_eq!(total, w.payload_bytes());
            })
        });
        group.bench_function("miniz-inflate", |b| {
            b.iter(|| {
                use miniz_oxide::inflate::stream::{inflate, InflateState};
                let mut state = InflateState::new_boxed(miniz_oxide::DataFormat::Raw);
                let mut out = vec![0u8; 16 << 10];
                let mut total = 0u64;
                for message in &zlib_stream {
                    let mut input = &message[..];
                    loop {
                        let r = inflate(&mut state, input, &mut out, miniz_oxide::MZFlush::None);
                        total += r.bytes_written as u64;
                        input = &input[r.bytes_consumed..];
                        if input.is_empty() && r.bytes_written < out.len() {
                            break;
                        }
                    }
                }
                assert_eq!(total, w.payload_bytes());
            })
        });
        group.finish();
    }
}

/// Every payload compressed by `zlib-rs` at level 1 with context takeover,
/// one sync-flushed chunk per message (tail kept).
fn zlib_compress(payloads: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut zlib = zlib_rs::Deflate::new(1, false, 15);
    payloads
        .iter()
        .map(|p| {
            let mut out = vec![0u8; 2 * p.len() + 1024];
            let (before_in, before) = (zlib.total_in(), zlib.total_out());
            zlib.compress(p, &mut out, zlib_rs::DeflateFlush::SyncFlush).unwrap();
            assert_eq!(zlib.total_in() - before_in, p.len() as u64, "all input taken");
            out.truncate((zlib.total_out() - before) as usize);
            out
        })
        .collect()
}

criterion_group!(benches, deflate);
criterion_main!(benches);
