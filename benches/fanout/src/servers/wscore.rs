//! wscore's servers, on its tokio driver. All the wscore-specific code of
//! the benchmark is here, so that an API change is adapted here alone.
//!
//! Both accept with `accept_with` (permessage-deflate on in the deflate
//! cells: `DeflateConfig::default()`, level 1), `split` the WebSocket and
//! read in a task of its own until the connection ends (`Reader::next`
//! until `None`); the publisher keeps the `Writer`s.
//!
//! * `wscore-clone`, the API as used before prepared frames: the publisher
//!   awaits `Writer::send_text` for every writer in turn. Each connection
//!   frames (and, with deflate, compresses) its own copy and writes it
//!   before the call returns. To shed slow subscribers (the `slow` cell)
//!   this API has no policy: there each connection gets a channel and a
//!   writing task, as for the peers (see `queue.rs`), and the publisher
//!   drops a message for a subscriber whose channel is full.
//! * `wscore-prepared`: the message is framed once (`Prepared::text`), and
//!   with deflate compressed once (`Prepared::compressed`, one
//!   `prepared::Compressor` at level 1, window 15 bits), then
//!   `tokio::broadcast` queues the shared bytes to every writer; each
//!   connection's reading task writes them out. Policy: `WhenFull::Wait`,
//!   or in the `slow` cell `WhenFull::Close` with 1013 "too slow" once a
//!   connection has its write buffer's limit waiting (`Buffers::max_unsent`:
//!   1 MiB by default, 64 KiB in the `slow` cell, about what the peers'
//!   64-message channels hold).
//! * `wscore-latest`, in the `slow` cell alone: `wscore-prepared` with
//!   `WhenFull::KeepLatest` instead of `Close`, message `n` keyed `n % 8`
//!   (eight symbols of a price feed). A connection with 64 KiB unsent is
//!   kept open; it holds the newest message of each key, a newer one
//!   replacing the one held, and they go out once it has room. Its tally
//!   sums the `Broadcast` reports: `held`, `replaced`, `failed`.

use std::error::Error;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::sync::mpsc::Receiver;
use tokio::task::spawn_local;
use wscore::deflate::DeflateConfig;
use wscore::prepared::Compressor;
use wscore::tokio::{accept_with, broadcast, Buffers, ServerOptions, WhenFull, Writer};
use wscore::CloseCode;

use super::queue::{Peer, Queued};
use super::{run, Coalesced, Fanout, Plan, Policy, Tally};

/// The write-buffer bound at which `wscore-prepared` sheds a subscriber
/// in the `slow` cell: what the peers' 64-message channels hold.
const SHED_AT: usize = 64 * 1024;

/// Handshake, split, and a task that reads until the connection ends.
async fn join(
    stream: TcpStream,
    plan: Plan,
    buffers: Buffers,
) -> Result<Writer<TcpStream>, wscore::tokio::Error> {
    let mut options = ServerOptions { buffers, ..ServerOptions::DEFAULT };
    if plan.deflate {
        options.config.deflate = Some(DeflateConfig::default());
    }
    let (mut reader, writer) = accept_with(stream, &[], &options).await?.split();
    spawn_local(async move { while reader.next().await.is_some() {} });
    Ok(writer)
}

/// `wscore-clone`: [`Direct`] sends, or [`Forwarded`] ones to shed.
pub fn clone(listener: TcpListener, plan: Plan) -> io::Result<()> {
    match plan.policy {
        Policy::Wait => run::<Direct>(listener, plan),
        Policy::Shed => run::<Queued<Forwarded>>(listener, plan),
    }
}

/// The publisher awaits `send_text` on every writer.
pub struct Direct {
    writers: Vec<Writer<TcpStream>>,
    tally: Tally,
}

impl Fanout for Direct {
    type Subscriber = Writer<TcpStream>;

    async fn join(stream: TcpStream, plan: Plan) -> Option<Self::Subscriber> {
        join(stream, plan, Buffers::DEFAULT).await.ok()
    }

    fn publisher(writers: Vec<Self::Subscriber>, _plan: Plan) -> Self {
        Direct { writers, tally: Tally::default() }
    }

    async fn publish(&mut self, text: &str) {
        for writer in &self.writers {
            if writer.send_text(text).await.is_err() {
                self.tally.failed += 1;
            }
        }
    }

    fn tally(&self) -> Tally {
        self.tally
    }
}

/// A channel per connection, and a task that sends what comes through it.
pub struct Forwarded;

impl Peer for Forwarded {
    type Message = Arc<str>;

    fn message(text: &str) -> Self::Message {
        text.into()
    }

    async fn join(
        stream: TcpStream,
        plan: Plan,
        mut messages: Receiver<Self::Message>,
    ) -> Result<(), Box<dyn Error>> {
        let writer = join(stream, plan, Buffers::DEFAULT).await?;
        spawn_local(async move {
            while let Some(text) = messages.recv().await {
                if writer.send_text(&text).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }
}

/// Keys `wscore-latest` gives its messages: the message's number modulo
/// this, as if each quoted one of eight symbols.
const SYMBOLS: u64 = 8;

/// `wscore-prepared` (`LATEST` false): one prepared frame per message,
/// `broadcast` to all. `wscore-latest` (`LATEST` true) is the same but for
/// its policy in the shedding cell.
pub struct Prepared<const LATEST: bool> {
    writers: Vec<Writer<TcpStream>>,
    policy: WhenFull,
    compressor: Option<Compressor>,
    /// Messages published so far.
    published: u64,
    tally: Tally,
}

impl<const LATEST: bool> Fanout for Prepared<LATEST> {
    type Subscriber = Writer<TcpStream>;

    async fn join(stream: TcpStream, plan: Plan) -> Option<Self::Subscriber> {
        let buffers = match plan.policy {
            Policy::Wait => Buffers::DEFAULT,
            Policy::Shed => Buffers { max_unsent: SHED_AT },
        };
        join(stream, plan, buffers).await.ok()
    }

    fn publisher(writers: Vec<Self::Subscriber>, plan: Plan) -> Self {
        let (policy, coalesced) = match plan.policy {
            Policy::Wait => (WhenFull::Wait, None),
            Policy::Shed if LATEST => (WhenFull::KeepLatest { key: 0 }, Some(Coalesced::default())),
            Policy::Shed => (WhenFull::Close { code: CloseCode(1013), reason: "too slow" }, None),
        };
        let compressor = plan.deflate.then(|| Compressor::new(1, 15));
        let tally = Tally { coalesced, ..Tally::default() };
        Prepared { writers, policy, compressor, published: 0, tally }
    }

    async fn publish(&mut self, text: &str) {
        let mut frame = wscore::prepared::Prepared::text(text);
        if let Some(compressor) = &mut self.compressor {
            frame = frame.compressed(compressor);
        }
        let policy = match self.policy {
            WhenFull::KeepLatest { .. } => WhenFull::KeepLatest { key: self.published % SYMBOLS },
            policy => policy,
        };
        self.published += 1;
        let report = broadcast(&self.writers, &frame, policy).await;
        self.tally.closed += report.closed as u64;
        self.tally.failed += report.failed as u64;
        if let Some(coalesced) = &mut self.tally.coalesced {
            coalesced.held += report.held as u64;
            coalesced.replaced += report.replaced as u64;
        }
    }

    fn tally(&self) -> Tally {
        self.tally
    }
}
