//! A `wss://` echo server: the blocking driver over a rustls stream. The core
//! knows nothing of TLS; it is given a stream that encrypts.
//!
//! ```sh
//! cargo run --example wss_server -- 127.0.0.1:9443 CERT.pem KEY.pem
//! cargo run --example wss_server -- 127.0.0.1:9443   # a self-signed certificate
//! ```
//!
//! Without a certificate and key, it makes a self-signed certificate for
//! `localhost`, `127.0.0.1` and `::1` at start and writes it (PEM) to a file
//! it names (`wscore-wss-server.pem` in the temporary directory), for the
//! client to trust:
//!
//! ```sh
//! cargo run --example wss_client -- wss://127.0.0.1:9443/ --ca /tmp/wscore-wss-server.pem
//! ```
//!
//! One thread per connection; every text and binary message comes back.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use wscore::blocking::{Error, Incoming, ServerOptions, WebSocket};

type TlsStream = StreamOwned<ServerConnection, TcpStream>;
/// A certificate chain and its private key.
type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wss_server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.first().map_or("127.0.0.1:9443", String::as_str);
    let (certs, key) = match args.get(1..).unwrap_or(&[]) {
        [cert, key] => load(cert, key)?,
        [] => self_signed()?,
        _ => return Err("usage: wss_server [ADDR [CERT.pem KEY.pem]]".into()),
    };
    let config =
        Arc::new(ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key)?);
    let listener = TcpListener::bind(addr)?;
    println!("wss echo server on wss://{addr}/");
    for tcp in listener.incoming() {
        let (tcp, config) = (tcp?, config.clone());
        std::thread::spawn(move || {
            let peer = tcp.peer_addr().map_or_else(|_| "?".into(), |a| a.to_string());
            match serve(tcp, config) {
                Ok(()) => println!("{peer} closed"),
                Err(e) => println!("{peer} failed: {e}"),
            }
        });
    }
    Ok(())
}

/// The certificate chain and key in PEM files.
fn load(cert: &str, key: &str) -> Result<Identity, String> {
    let certs = CertificateDer::pem_file_iter(cert).and_then(|certs| certs.collect());
    let certs = certs.map_err(|e| format!("{cert}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    Ok((certs, key))
}

/// A certificate for this machine's loopback names, written to a file the
/// client can trust.
fn self_signed() -> Result<Identity, Box<dyn std::error::Error>> {
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from);
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names)?;
    let path: PathBuf = std::env::temp_dir().join("wscore-wss-server.pem");
    std::fs::write(&path, cert.pem())?;
    println!("self-signed certificate written to {}", path.display());
    Ok((vec![cert.der().clone()], signing_key.into()))
}

/// Echo until the client closes. The TLS handshake runs on the first read,
/// inside the WebSocket handshake, so `Config::handshake_timeout` bounds it.
fn serve(tcp: TcpStream, config: Arc<ServerConfig>) -> Result<(), Error> {
    tcp.set_nodelay(true)?;
    let tls = StreamOwned::new(ServerConnection::new(config).map_err(std::io::Error::other)?, tcp);
    let options = ServerOptions::default();
    let set_timeout = |s: &TlsStream, d| s.sock.set_read_timeout(d);
    let mut ws = WebSocket::server_with_timeouts(tls, &[], &options, Some(set_timeout))?;
    loop {
        match ws.read() {
            Ok(Incoming::Text(text)) => ws.send_text(&text)?,
            Ok(Incoming::Binary(data)) => ws.send_binary(&data)?,
            Ok(_) => {} // Pongs and the Close reply are automatic
            Err(Error::Closed(_)) => break,
            Err(e) => return Err(e),
        }
    }
    // End the TLS session (close_notify) before TCP: the client reads up to
    // the end of the connection, and a TCP end alone is a truncation to TLS.
    let tls = ws.get_mut();
    tls.conn.send_close_notify();
    tls.flush()?;
    Ok(())
}
