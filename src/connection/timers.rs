//! Time: keepalive Pings and their timeout, and the closing handshake's
//! timeout, all on the caller's clock.

use super::Connection;
use crate::close::CloseCode;
use crate::config::Instant;
use crate::error::Error;

/// A deadline that is not running.
const NEVER: u64 = u64::MAX;

/// Deadlines in milliseconds on the caller's clock, [`NEVER`] when off.
/// Until the connection has seen the clock, a running deadline holds its
/// delay, and the first reading turns it into a time.
#[derive(Debug, Clone)]
pub(super) struct Timers {
    /// The latest `now` the caller passed in.
    now: u64,
    clock_seen: bool,
    next_ping: u64,
    /// When the outstanding keepalive Ping's Pong is due.
    pong_deadline: u64,
    /// When to give up on the peer's Close (or, for a client, on the
    /// server's end of the transport).
    close_deadline: u64,
    /// Keepalive Pings sent; the latest one's payload is this number.
    pings_sent: u32,
    /// `close_deadline` holds a delay that the next clock reading turns
    /// into a time (a Close sent by `encode`, which has no clock).
    close_on_next_clock: bool,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            now: 0,
            clock_seen: false,
            next_ping: NEVER,
            pong_deadline: NEVER,
            close_deadline: NEVER,
            pings_sent: 0,
            close_on_next_clock: false,
        }
    }
}

impl Timers {
    /// `delay_ms` from now (or from the first reading of the clock).
    fn after(&self, delay_ms: u32) -> u64 {
        let base = if self.clock_seen { self.now } else { 0 };
        base.saturating_add(u64::from(delay_ms)).min(NEVER - 1)
    }

    fn is_due(&self, deadline: u64) -> bool {
        deadline != NEVER && self.clock_seen && self.now >= deadline
    }

    pub(super) fn ping_payload(&self) -> [u8; 4] {
        self.pings_sent.to_be_bytes()
    }

    pub(super) fn pong_received(&mut self, payload: &[u8]) {
        if self.pong_deadline != NEVER && payload == self.ping_payload() {
            self.pong_deadline = NEVER;
        }
    }

    pub(super) fn stop_keepalive(&mut self) {
        self.next_ping = NEVER;
        self.pong_deadline = NEVER;
    }

    /// When to give up on the closing handshake (or, during the opening
    /// handshake, on that).
    pub(super) fn set_close_deadline(&mut self, timeout_ms: u32) {
        self.close_deadline = self.after(timeout_ms);
    }

    /// When to give up on the closing handshake, counted from the next
    /// clock reading rather than the last one.
    pub(super) fn set_close_deadline_from_next_clock(&mut self, timeout_ms: u32) {
        self.close_deadline = u64::from(timeout_ms);
        self.close_on_next_clock = true;
    }

    pub(super) fn clear_close_deadline(&mut self) {
        self.close_deadline = NEVER;
        self.close_on_next_clock = false;
    }

    /// The close deadline as a time; while it waits for a clock reading to
    /// count from, the time of the last one: "call `handle_timeout` now".
    fn close_at(&self) -> u64 {
        match self.close_on_next_clock {
            true => self.now,
            false => self.close_deadline,
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
    ///
    /// The closing handshake's deadline after a Close sent by `encode`
    /// (which takes no clock) counts from the next `now` the connection is
    /// given; until then this reports the last one, so that a caller who
    /// sleeps until it calls `handle_timeout` at once and starts the count.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.close_expected() {
            return None;
        }
        let t = &self.tx.timers;
        let earliest = t.next_ping.min(t.pong_deadline).min(t.close_at());
        match (earliest, t.clock_seen) {
            (NEVER, _) => None,
            (at, true) => Some(Instant(at)),
            (_, false) => Some(Instant(0)),
        }
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
    /// [`Error::HandshakeTimeout`] when the opening handshake took longer
    /// than `Config::handshake_timeout`: the connection is closed; a server
    /// still waiting for the request's head queues a `408 Request Timeout`
    /// for [`poll_transmit`](Self::poll_transmit) first.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.observe_time(now);
        if self.tx.timers.is_due(self.tx.timers.close_deadline)
            && self.tx.closed.is_none()
            && self.phase.is_handshake()
        {
            self.tx.timers.close_deadline = NEVER;
            // A server still waiting for the head answers 408 (where the
            // transport can still take it) before it closes.
            let phase = match self.phase {
                super::Phase::AwaitingRequest => {
                    super::Phase::Rejecting(crate::handshake::HandshakeError::HeadTimeout)
                }
                _ => super::Phase::HandshakeFailed,
            };
            self.handshake_failed(phase);
            return Err(Error::HandshakeTimeout);
        }
        if self.tx.timers.is_due(self.tx.timers.close_deadline) {
            self.tx.timers.close_deadline = NEVER;
            self.tx.transport_ended = true;
            if self.tx.closed.is_none() {
                self.tx.failed = true;
                self.tx.finish(CloseCode::ABNORMAL);
                return Err(Error::CloseTimeout);
            }
        }
        if self.tx.timers.is_due(self.tx.timers.pong_deadline) {
            self.tx.fail_with(CloseCode::INTERNAL_ERROR, "keepalive timeout");
            return Err(Error::KeepaliveTimeout);
        }
        if self.tx.timers.is_due(self.tx.timers.next_ping) {
            self.tx.timers.next_ping = self.tx.timers.after(self.tx.config.keepalive_interval);
            if self.tx.timers.pong_deadline == NEVER {
                self.tx.timers.pings_sent = self.tx.timers.pings_sent.wrapping_add(1);
                self.tx.outbox.queue_keepalive_ping();
                // A zero timeout pings without ever giving up on the peer.
                if self.tx.config.keepalive_timeout > 0 {
                    self.tx.timers.pong_deadline =
                        self.tx.timers.after(self.tx.config.keepalive_timeout);
                }
            }
        }
        Ok(())
    }

    /// Record the caller's clock; the first reading starts the deadlines
    /// that were waiting for it.
    pub(super) fn observe_time(&mut self, now: Instant) {
        let t = &mut self.tx.timers;
        let from_now = |delay: u64| now.0.saturating_add(delay).min(NEVER - 1);
        let close_waits = core::mem::take(&mut t.close_on_next_clock);
        if !t.clock_seen {
            t.clock_seen = true;
            for deadline in [&mut t.next_ping, &mut t.pong_deadline] {
                if *deadline != NEVER {
                    *deadline = from_now(*deadline);
                }
            }
            if t.close_deadline != NEVER && !close_waits {
                t.close_deadline = from_now(t.close_deadline);
            }
        }
        if close_waits {
            t.close_deadline = from_now(t.close_deadline);
        }
        t.now = now.0;
    }

    /// Arm keepalive at creation, if configured.
    pub(super) fn start_keepalive(&mut self) {
        if self.tx.config.keepalive_interval > 0 {
            self.tx.timers.next_ping = self.tx.timers.after(self.tx.config.keepalive_interval);
        }
    }
}
