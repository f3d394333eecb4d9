//! `wss://`: the drivers over rustls on loopback TCP (127.0.0.1, ephemeral
//! ports), with certificates made at test time by rcgen. The core and the
//! drivers know nothing of TLS; they are given a stream that encrypts.
//!
//! Round trips of text and binary (1 MiB included), Ping/Pong and the
//! closing handshake, the TLS session ended with close_notify; a client
//! that does not trust the server's certificate, and one that reaches it
//! under a name the certificate does not carry, fail the TLS handshake at
//! once with the rustls error; and a round trip on the tokio driver over
//! tokio-rustls.
//!
//! Every test runs under a watchdog and every read has a time limit, so a
//! regression fails instead of hanging.
#![cfg(feature = "std")]

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, RootCertStore,
    ServerConfig, ServerConnection, StreamOwned,
};
use wscore::blocking::{CloseInfo, Error, Incoming, ServerOptions, WebSocket};
use wscore::handshake::ClientRequest;
use wscore::{CloseCode, Config};

type ServerTls = StreamOwned<ServerConnection, TcpStream>;
type ClientTls = StreamOwned<ClientConnection, TcpStream>;

/// How long any read may wait, and any test may run.
const LIMIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Harness: certificates, the wss echo server, the client
// ---------------------------------------------------------------------------

/// Run `body` on its own thread; fail the test if it has not finished
/// within `LIMIT * 2`, re-raising its panic if it panicked.
fn bounded(body: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(LIMIT * 2) {
        Ok(()) => worker.join().expect("the body finished"),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body ends by sending or by panicking"),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!("test still running after {:?}: it hangs", LIMIT * 2)
        }
    }
}

/// A self-signed certificate for `names` (the first one is also its subject,
/// so that two of them are told apart by name), and its key.
fn self_signed(names: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names.clone()).expect("valid names");
    params.distinguished_name.push(rcgen::DnType::CommonName, &names[0]);
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = params.self_signed(&key).expect("a certificate");
    (cert.der().clone(), key.into())
}

fn server_config(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> Arc<ServerConfig> {
    let config = ServerConfig::builder().with_no_client_auth().with_single_cert(vec![cert], key);
    Arc::new(config.expect("the certificate and key match"))
}

/// A client that trusts `ca` alone.
fn client_config(ca: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).expect("a usable CA certificate");
    Arc::new(ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
}

/// What a server connection saw: the peer's Close, or the error it ended with.
type Outcome = Result<Option<CloseInfo>, Error>;

/// A wss echo server on an ephemeral loopback port, for one connection;
/// its outcome comes back on the channel.
fn echo_server(config: Arc<ServerConfig>) -> (SocketAddr, Receiver<Outcome>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let (report, outcome) = mpsc::channel();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        let _ = report.send(echo(tcp, config));
    });
    (addr, outcome)
}

/// Echo text and binary until the peer closes, then end the TLS session.
fn echo(tcp: TcpStream, config: Arc<ServerConfig>) -> Outcome {
    tcp.set_nodelay(true)?;
    let tls = ServerConnection::new(config).map_err(io::Error::other)?;
    let set_timeout = |s: &ServerTls, d| s.sock.set_read_timeout(d);
    let options = ServerOptions::default();
    let tls = StreamOwned::new(tls, tcp);
    let mut ws = WebSocket::server_with_timeouts(tls, &[], &options, Some(set_timeout))?;
    let mut peer_close = None;
    loop {
        match ws.read_timeout(LIMIT)? {
            Some(Incoming::Text(text)) => ws.send_text(&text)?,
            Some(Incoming::Binary(data)) => ws.send_binary(&data)?,
            Some(Incoming::Ping(_) | Incoming::Pong(_)) => {} // the Pong is automatic
            Some(Incoming::Close(info)) => peer_close = info,
            None => return Err(io::Error::from(io::ErrorKind::TimedOut).into()),
        }
        if ws.connection().close_expected() {
            break;
        }
    }
    // close_notify, then TCP: the client reads up to the end of the stream.
    let tls = ws.get_mut();
    tls.conn.send_close_notify();
    tls.flush()?;
    Ok(peer_close)
}

/// Connect to `addr` over TLS, checking the certificate for `name`, and run
/// the WebSocket handshake.
fn connect(
    addr: SocketAddr,
    name: &str,
    config: Arc<ClientConfig>,
) -> Result<WebSocket<ClientTls>, Error> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(LIMIT))?; // the TLS handshake's limit
    let name = ServerName::try_from(name.to_string()).expect("a valid server name");
    let tls = ClientConnection::new(config, name).map_err(io::Error::other)?;
    let set_timeout = |s: &ClientTls, d| s.sock.set_read_timeout(d);
    let authority = addr.to_string();
    let request = ClientRequest::new(&authority, "/");
    WebSocket::client_with_timeouts(
        StreamOwned::new(tls, tcp),
        &request,
        Config::default(),
        Some(set_timeout),
    )
}

/// The next message, failing the test after `LIMIT`.
fn next(ws: &mut WebSocket<ClientTls>) -> Incoming {
    ws.read_timeout(LIMIT).expect("read").unwrap_or_else(|| panic!("nothing within {LIMIT:?}"))
}

/// The server's outcome, failing the test after `LIMIT`.
fn server_outcome(outcome: &Receiver<Outcome>) -> Outcome {
    outcome.recv_timeout(LIMIT).expect("the server thread reports")
}

/// The rustls error an I/O error carries.
fn tls_error(e: &io::Error) -> &rustls::Error {
    let inner = e.get_ref().unwrap_or_else(|| panic!("not a TLS error: {e:?}"));
    inner.downcast_ref().unwrap_or_else(|| panic!("not a TLS error: {e:?}"))
}

// ---------------------------------------------------------------------------
// Blocking driver
// ---------------------------------------------------------------------------

#[test]
fn text_binary_ping_and_close_over_tls() {
    bounded(|| {
        let (cert, key) = self_signed(&["localhost", "127.0.0.1"]);
        let (addr, outcome) = echo_server(server_config(cert.clone(), key));
        let mut ws = connect(addr, "127.0.0.1", client_config(&cert)).expect("wss handshake");
        assert_eq!(ws.get_ref().conn.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));

        ws.send_text("hello over TLS").unwrap();
        assert_eq!(next(&mut ws), Incoming::Text("hello over TLS".into()));
        ws.send_binary(&[0, 1, 2, 0xfe, 0xff]).unwrap();
        assert_eq!(next(&mut ws), Incoming::Binary(vec![0, 1, 2, 0xfe, 0xff].into()));

        // 1 MiB each way: many TLS records, and the driver's large-message path.
        let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        ws.send_binary(&big).unwrap();
        assert!(next(&mut ws) == Incoming::Binary(big.into()), "1 MiB binary comes back intact");
        let text = "héllo wörld ".repeat((1 << 20) / 14);
        ws.send_text(&text).unwrap();
        assert!(next(&mut ws) == Incoming::Text(text.into()), "1 MiB text comes back intact");

        ws.ping(b"are you there").unwrap();
        assert_eq!(next(&mut ws), Incoming::Pong(b"are you there".to_vec().into()));

        ws.close(CloseCode::NORMAL, "done").expect("a clean close");
        assert!(matches!(ws.read(), Err(Error::Closed(_))));
        let peer_close = server_outcome(&outcome).expect("the server closed cleanly");
        assert_eq!(peer_close, Some(CloseInfo { code: CloseCode::NORMAL, reason: "done".into() }));
    });
}

#[test]
fn an_untrusted_certificate_fails_the_tls_handshake() {
    bounded(|| {
        let (cert, key) = self_signed(&["localhost", "127.0.0.1"]);
        let (other_ca, _) = self_signed(&["ca.example"]);
        let (addr, outcome) = echo_server(server_config(cert, key));
        let started = Instant::now();
        let err = connect(addr, "localhost", client_config(&other_ca)).expect_err("untrusted");
        assert!(started.elapsed() < LIMIT / 2, "failed at once, not by a timeout");
        let Error::Io(io_err) = &err else { panic!("expected Error::Io, got {err:?}") };
        assert_eq!(io_err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            tls_error(io_err),
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        );
        assert_eq!(err.to_string(), "I/O error: invalid peer certificate: UnknownIssuer");
        // The client told the server why, with an alert.
        match server_outcome(&outcome) {
            Err(Error::Io(e)) => assert_eq!(
                tls_error(&e),
                &rustls::Error::AlertReceived(AlertDescription::UnknownCA)
            ),
            other => panic!("expected the server to fail with the client's alert, got {other:?}"),
        }
    });
}

#[test]
fn a_certificate_for_another_name_fails_the_tls_handshake() {
    bounded(|| {
        let (cert, key) = self_signed(&["localhost"]);
        let (addr, outcome) = echo_server(server_config(cert.clone(), key));
        let err = connect(addr, "127.0.0.1", client_config(&cert)).expect_err("wrong name");
        let Error::Io(io_err) = &err else { panic!("expected Error::Io, got {err:?}") };
        assert!(
            matches!(
                tls_error(io_err),
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
            ),
            "{err}"
        );
        assert!(matches!(server_outcome(&outcome), Err(Error::Io(_))));
    });
}

// ---------------------------------------------------------------------------
// Tokio driver, over tokio-rustls
// ---------------------------------------------------------------------------

#[cfg(feature = "tokio")]
#[tokio::test]
async fn tokio_round_trip_over_tls() {
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    let (cert, key) = self_signed(&["localhost"]);
    let acceptor = TlsAcceptor::from(server_config(cert.clone(), key));
    let connector = TlsConnector::from(client_config(&cert));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();

    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let tls = acceptor.accept(tcp).await?;
        let mut ws = wscore::tokio::accept_with(tls, &[], &ServerOptions::default()).await?;
        let mut peer_close = None;
        while let Some(incoming) = ws.next().await {
            match incoming? {
                Incoming::Text(text) => ws.send_text(&text).await?,
                Incoming::Binary(data) => ws.send_binary(&data).await?,
                Incoming::Close(info) => peer_close = info,
                Incoming::Ping(_) | Incoming::Pong(_) => {}
            }
        }
        Ok::<_, Error>(peer_close)
    });

    let client = async {
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await?;
        let authority = addr.to_string();
        let request = ClientRequest::new(&authority, "/");
        let mut ws = wscore::tokio::client(tls, &request, Config::default()).await?;
        ws.send_text("hello over tokio-rustls").await?;
        let reply = ws.next().await.expect("a reply")?;
        assert_eq!(reply, Incoming::Text("hello over tokio-rustls".into()));
        ws.close(CloseCode::NORMAL, "").await?;
        let reply = ws.next().await.expect("the server's Close")?;
        let normal = CloseInfo { code: CloseCode::NORMAL, reason: String::new() };
        assert_eq!(reply, Incoming::Close(Some(normal)));
        match ws.next().await {
            None => {}
            // The tokio driver gives the server no way to send close_notify:
            // it ends TCP after the closing handshake, which TLS calls a
            // truncation. Harmless here (the WebSocket Close came first).
            Some(Err(Error::Io(e))) if e.kind() == io::ErrorKind::UnexpectedEof => {}
            Some(other) => panic!("expected the end after the Close, got {other:?}"),
        }
        Ok::<_, Error>(())
    };
    tokio::time::timeout(LIMIT, client).await.expect("the client finishes").expect("client");
    let outcome = tokio::time::timeout(LIMIT, server).await.expect("the server finishes");
    let peer_close = outcome.expect("server task").expect("server");
    assert_eq!(peer_close, Some(CloseInfo { code: CloseCode::NORMAL, reason: String::new() }));
}
