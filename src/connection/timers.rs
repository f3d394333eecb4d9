//! Time: keepalive Pings and their timeout, and the closing handshake's
//! timeout, all on the caller's clock.

use core::time::Duration;

use super::Connection;
use crate::close::CloseCode;
use crate::config::Instant;
use crate::error::Error;

/// A deadline, possibly set before the connection has seen the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    At(Instant),
    /// Relative to the first `now` the connection will see.
    After(Duration),
}

impl Deadline {
    fn is_due(self, now: Instant) -> bool {
        matches!(self, Deadline::At(at) if now >= at)
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Timers {
    /// The latest time the caller passed in, once it has passed one.
    now: Option<Instant>,
    /// When the next keepalive Ping is due; `None` when keepalive is off or over.
    next_ping: Option<Deadline>,
    /// The keepalive Ping awaiting its Pong: its payload and deadline.
    awaiting_pong: Option<([u8; 4], Instant)>,
    pings_sent: u32,
    /// When to give up on the peer's Close (or, for a client, on the
    /// server's end of the transport).
    close_deadline: Option<Deadline>,
}

impl Timers {
    pub(super) fn pong_received(&mut self, payload: &[u8]) {
        if matches!(self.awaiting_pong, Some((ping, _)) if ping[..] == *payload) {
            self.awaiting_pong = None;
        }
    }

    pub(super) fn stop_keepalive(&mut self) {
        self.next_ping = None;
        self.awaiting_pong = None;
    }

    pub(super) fn await_close_reply(&mut self, timeout: Duration) {
        self.close_deadline = Some(self.after(timeout));
    }

    pub(super) fn await_transport_end(&mut self, timeout: Duration) {
        self.close_deadline = Some(self.after(timeout));
    }

    fn after(&self, d: Duration) -> Deadline {
        match self.now {
            Some(now) => Deadline::At(now.saturating_add(d)),
            None => Deadline::After(d),
        }
    }
}

impl Connection {
    /// When [`handle_timeout`](Self::handle_timeout) should next be called,
    /// if any timer is running: the next keepalive Ping, the keepalive Pong's
    /// deadline, or the closing handshake's deadline.
    ///
    /// Before the connection has seen the caller's clock (no `read` or
    /// `handle_timeout` yet) a running timer reports `Instant(0)`: call
    /// `handle_timeout` at once so that it can start counting.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.close_expected() {
            return None;
        }
        let deadlines = [
            self.timers.next_ping,
            self.timers.awaiting_pong.map(|(_, at)| Deadline::At(at)),
            self.timers.close_deadline,
        ];
        deadlines
            .into_iter()
            .flatten()
            .map(|d| match d {
                Deadline::At(at) => at,
                Deadline::After(_) => Instant(0),
            })
            .min()
    }

    /// Advance the timers to `now`: queue a keepalive Ping when one is due,
    /// and end the connection when the peer let a deadline pass. Then flush
    /// [`poll_transmit`](Self::poll_transmit).
    ///
    /// # Errors
    ///
    /// [`Error::KeepaliveTimeout`] when no Pong answered a keepalive Ping in
    /// time: the connection is closed (code 1011, a Close queued) and the
    /// transport should be dropped. [`Error::CloseTimeout`] when the peer
    /// never answered this side's Close: the connection is closed (1006).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.observe_time(now);
        if self.timers.close_deadline.is_some_and(|d| d.is_due(now)) {
            self.timers.close_deadline = None;
            self.transport_ended = true;
            if self.closed.is_none() {
                self.finish(CloseCode::ABNORMAL);
                return Err(Error::CloseTimeout);
            }
        }
        let Some(keepalive) = self.config.keepalive else { return Ok(()) };
        if self.timers.awaiting_pong.is_some_and(|(_, at)| now >= at) {
            self.fail_with(CloseCode::INTERNAL_ERROR, "keepalive timeout");
            return Err(Error::KeepaliveTimeout);
        }
        if self.timers.next_ping.is_some_and(|d| d.is_due(now)) {
            self.timers.next_ping = Some(Deadline::At(now.saturating_add(keepalive.interval)));
            if self.timers.awaiting_pong.is_none() {
                self.timers.pings_sent = self.timers.pings_sent.wrapping_add(1);
                let payload = self.timers.pings_sent.to_be_bytes();
                self.outbox.queue_keepalive_ping(payload);
                self.timers.awaiting_pong = Some((payload, now.saturating_add(keepalive.timeout)));
            }
        }
        Ok(())
    }

    /// Record the caller's clock; the first time, start the timers that were
    /// waiting for it.
    pub(super) fn observe_time(&mut self, now: Instant) {
        let first = self.timers.now.is_none();
        self.timers.now = Some(now);
        if first {
            let start = |d: Option<Deadline>| match d {
                Some(Deadline::After(after)) => Some(Deadline::At(now.saturating_add(after))),
                other => other,
            };
            self.timers.next_ping = start(self.timers.next_ping);
            self.timers.close_deadline = start(self.timers.close_deadline);
        }
    }

    /// Arm keepalive at creation, if configured.
    pub(super) fn start_keepalive(&mut self) {
        if let Some(keepalive) = self.config.keepalive {
            self.timers.next_ping = Some(self.timers.after(keepalive.interval));
        }
    }
}
