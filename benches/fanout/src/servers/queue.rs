//! One bounded channel per subscriber, drained by the connection's own
//! writing task: how the peer crates' users write a broadcast server, and
//! how a wscore user sheds slow subscribers today.
//!
//! The publisher clones the crate's message into every channel (the
//! crates' messages share their payload: a clone is a reference count) and
//! each connection's task encodes and writes its own copy, one `send` (a
//! flushed write) per message. With [`Policy::Wait`] the publisher awaits
//! room in a full channel; with [`Policy::Shed`] it calls `try_send` and
//! drops the message for a subscriber whose channel is full.

use tokio::net::TcpStream;
use tokio::sync::mpsc::{channel, error::TrySendError, Receiver, Sender};

use super::{Fanout, Plan, Policy, Tally};

/// Messages a subscriber's channel holds.
pub const CAPACITY: usize = 64;

/// One crate's side of a queued broadcast server.
pub trait Peer: 'static {
    /// The message handed to each connection's task.
    type Message: Clone + 'static;

    /// The message for `text`, built once per publish.
    fn message(text: &str) -> Self::Message;

    /// Run the handshake on `stream` and start the connection's tasks: one
    /// that writes what arrives on `messages`, one that reads (answering
    /// what the protocol requires) until the connection ends.
    async fn join(
        stream: TcpStream,
        plan: Plan,
        messages: Receiver<Self::Message>,
    ) -> Result<(), Box<dyn std::error::Error>>;
}

/// A publisher over one channel per subscriber.
pub struct Queued<P: Peer> {
    senders: Vec<Sender<P::Message>>,
    policy: Policy,
    tally: Tally,
}

impl<P: Peer> Fanout for Queued<P> {
    type Subscriber = Sender<P::Message>;

    async fn join(stream: TcpStream, plan: Plan) -> Option<Self::Subscriber> {
        let (sender, receiver) = channel(CAPACITY);
        P::join(stream, plan, receiver).await.ok()?;
        Some(sender)
    }

    fn publisher(senders: Vec<Self::Subscriber>, plan: Plan) -> Self {
        Queued { senders, policy: plan.policy, tally: Tally::default() }
    }

    async fn publish(&mut self, text: &str) {
        let message = P::message(text);
        for sender in &self.senders {
            let sent = match self.policy {
                Policy::Wait => {
                    sender.send(message.clone()).await.map_err(|e| TrySendError::Closed(e.0))
                }
                Policy::Shed => sender.try_send(message.clone()),
            };
            match sent {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => self.tally.dropped += 1,
                Err(TrySendError::Closed(_)) => self.tally.failed += 1,
            }
        }
    }

    fn tally(&self) -> Tally {
        self.tally
    }
}
