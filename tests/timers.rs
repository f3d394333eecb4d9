//! Keepalive and the closing handshake's timeouts, on a virtual clock: a
//! client and a server in memory, the clock jumping to the next deadline.

mod support;
use std::time::Duration;
use support::*;
use wscore::{CloseCode, CloseFrame, Config, Error, Instant, Keepalive, Outgoing, Role, State};

/// No keepalive: the side that is not under test stays quiet.
const QUIET: Config = Config { keepalive: None, ..Config::DEFAULT };

fn keepalive(interval_ms: u64, timeout_ms: u64) -> Config {
    Config {
        keepalive: Some(Keepalive {
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(timeout_ms),
        }),
        ..Config::default()
    }
}

#[test]
fn keepalive_pings_on_schedule_while_the_peer_answers() {
    let mut pair = Pair::new(keepalive(20_000, 10_000), QUIET);
    pair.now = Instant(1_000);
    pair.client.handle_timeout(pair.now).unwrap();
    for round in 1..=5u64 {
        let (c, s) = pair.next_timeout().expect("keepalive runs");
        assert_eq!((c, s), (Ok(()), Ok(())));
        assert_eq!(pair.now, Instant(1_000 + round * 20_000));
        // The server saw the ping; its automatic Pong reached the client.
        let pings = pair.server_in.events.iter().filter(|e| matches!(e, Ev::Ping(_))).count();
        assert_eq!(pings as u64, round);
        assert!(matches!(pair.client_in.events.last(), Some(Ev::Pong(_))));
        assert_eq!(pair.client.state(), State::Open);
    }
}

#[test]
fn keepalive_detects_a_dead_peer_within_the_timeout() {
    let mut pair = Pair::new(keepalive(20_000, 10_000), QUIET);
    pair.client.handle_timeout(Instant(0)).unwrap();
    pair.server_alive = false; // the path goes silent
    let (c, _) = pair.next_timeout().unwrap();
    assert_eq!((c, pair.now), (Ok(()), Instant(20_000)), "ping sent");
    assert_eq!(pair.client.poll_timeout(), Some(Instant(30_000)));
    assert_eq!(pair.client.handle_timeout(Instant(29_999)), Ok(()));
    assert_eq!(pair.client.handle_timeout(Instant(30_000)), Err(Error::KeepaliveTimeout));
    assert_eq!(pair.client.state(), State::Closed(CloseCode::INTERNAL_ERROR));
    // A Close 1011 is queued for the peer (best effort), then the transport may go.
    let close = transmit(&mut pair.client);
    assert_eq!(close_code_of(&client_frames(&close)), Some(1011));
    assert!(pair.client.close_expected());
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn a_stale_pong_does_not_satisfy_keepalive() {
    let mut conn = connection(Role::Client, keepalive(1_000, 500));
    conn.handle_timeout(Instant(0)).unwrap();
    conn.handle_timeout(Instant(1_000)).unwrap();
    assert!(!transmit(&mut conn).is_empty(), "keepalive ping queued");
    events(&mut conn, &raw_frame(0x8A, b"unrelated", None));
    assert_eq!(conn.handle_timeout(Instant(1_500)), Err(Error::KeepaliveTimeout));
}

#[test]
fn poll_timeout_asks_for_the_clock_before_it_has_seen_one() {
    let conn = connection(Role::Client, keepalive(1_000, 500));
    assert_eq!(conn.poll_timeout(), Some(Instant(0)));
    let idle = connection(Role::Client, QUIET);
    assert_eq!(idle.poll_timeout(), None);
    // Keepalive is on by default: the default asks for the clock too.
    assert_eq!(connection(Role::Client, Config::default()).poll_timeout(), Some(Instant(0)));
}

#[test]
fn clean_close_initiated_by_the_client() {
    let mut pair = Pair::new(Config::default(), Config::default());
    pair.now = Instant(5);
    pair.client_sends(Outgoing::Close(Some(CloseFrame::new(NORMAL)))).unwrap();
    // The server got the Close, replied, and may close TCP at once.
    assert_eq!(pair.server_in.events, vec![Ev::close(1000, "")]);
    assert_eq!(pair.server.state(), State::Closed(NORMAL));
    assert!(pair.server.close_expected());
    // The client got the reply and waits for the server's end of file...
    assert_eq!(pair.client_in.events, vec![Ev::close(1000, "")]);
    assert_eq!(pair.client.state(), State::Closed(NORMAL));
    assert!(!pair.client.close_expected());
    // ...at most close_timeout (5 s), then closes TCP itself.
    let (c, _) = pair.next_timeout().unwrap();
    assert_eq!((c, pair.now), (Ok(()), Instant(5_005)));
    assert!(pair.client.close_expected());
}

#[test]
fn clean_close_initiated_by_the_server() {
    let mut pair = Pair::new(Config::default(), Config::default());
    pair.server_sends(Outgoing::Close(Some(CloseFrame {
        code: CloseCode::GOING_AWAY,
        reason: "restart",
    })))
    .unwrap();
    assert_eq!(pair.client_in.events, vec![Ev::close(1001, "restart")]);
    assert_eq!(pair.server_in.events, vec![Ev::close(1001, "")], "the reply echoes the code");
    assert!(pair.server.close_expected());
    pair.client.read_eof().unwrap();
    assert!(pair.client.close_expected());
}

#[test]
fn close_times_out_when_the_peer_never_answers() {
    let mut conn = connection(
        Role::Server,
        Config { close_timeout: Duration::from_secs(2), ..Config::default() },
    );
    conn.handle_timeout(Instant(100)).unwrap();
    encode(&mut conn, Outgoing::Close(None)).unwrap();
    // `encode` has no clock: the count starts at the next reading, which
    // `poll_timeout` asks for at once.
    assert_eq!(conn.poll_timeout(), Some(Instant(100)));
    conn.handle_timeout(Instant(150)).unwrap();
    assert_eq!(conn.poll_timeout(), Some(Instant(2_150)));
    assert_eq!(conn.handle_timeout(Instant(2_149)), Ok(()));
    assert_eq!(conn.state(), State::Closing);
    assert_eq!(conn.handle_timeout(Instant(2_150)), Err(Error::CloseTimeout));
    assert_eq!(conn.state(), State::Closed(CloseCode::ABNORMAL));
    assert!(conn.close_expected());
}

#[test]
fn close_deadline_set_before_the_clock_is_relative_to_its_first_reading() {
    let mut conn = connection(Role::Server, Config::default());
    encode(&mut conn, Outgoing::Close(None)).unwrap();
    assert_eq!(conn.poll_timeout(), Some(Instant(0)));
    conn.handle_timeout(Instant(1_000_000)).unwrap();
    assert_eq!(conn.poll_timeout(), Some(Instant(1_005_000)));
}

#[test]
fn a_zero_keepalive_timeout_pings_but_never_gives_up() {
    let mut conn = connection(Role::Client, keepalive(1_000, 0));
    conn.handle_timeout(Instant(0)).unwrap();
    for t in 1..=5 {
        assert_eq!(conn.poll_timeout(), Some(Instant(t * 1_000)));
        assert_eq!(conn.handle_timeout(Instant(t * 1_000)), Ok(()));
        assert!(!transmit(&mut conn).is_empty(), "ping {t}");
    }
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn keepalive_stops_while_the_close_timer_runs() {
    let mut conn = connection(
        Role::Client,
        Config { close_timeout: Duration::from_millis(300), ..keepalive(1_000, 500) },
    );
    conn.handle_timeout(Instant(0)).unwrap();
    encode(&mut conn, Outgoing::Close(None)).unwrap();
    conn.handle_timeout(Instant(0)).unwrap(); // the close timer counts from here
    assert_eq!(conn.poll_timeout(), Some(Instant(300)));
    assert_eq!(conn.handle_timeout(Instant(300)), Err(Error::CloseTimeout));
    assert_eq!(conn.poll_timeout(), None);
}
