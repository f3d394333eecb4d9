//! A `wss://` client: the blocking driver over a rustls stream. The core
//! knows nothing of TLS; it is given a stream that encrypts.
//!
//! ```sh
//! cargo run --example wss_client -- wss://127.0.0.1:9443/ --ca CERT.pem
//! echo hello | cargo run --example wss_client -- wss://localhost:9443/ --ca CERT.pem
//! cargo run --example wss_client -- wss://127.0.0.1:9443/ --ca CERT.pem hello there
//! ```
//!
//! Words after the URL go out as one text message; without them, every line
//! of stdin does. Each is followed by the wait (at most 10 s) for the next
//! message, which is printed: a request-reply client for an echo server
//! such as `examples/wss_server.rs`. Then it closes with 1000.
//!
//! The server's certificate is checked against the PEM certificates of
//! `--ca`; without it, against the system's CA bundle (`SSL_CERT_FILE`, or
//! the usual files of Linux, the BSDs and macOS).

use std::io::BufRead;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use wscore::blocking::{Error, Incoming, WebSocket};
use wscore::handshake::ClientRequest;
use wscore::url::Url;
use wscore::{CloseCode, Config};

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// How long to wait for a reply.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// Where systems keep their CA bundle, when `--ca` is not given.
const CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
    "/etc/ssl/cert.pem",                  // macOS, the BSDs
];

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wss_client: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut ca, mut words) = (None, None, Vec::new());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => ca = Some(args.next().ok_or("--ca needs a file")?),
            _ if url.is_none() => url = Some(arg),
            _ => words.push(arg),
        }
    }
    let usage = "usage: wss_client wss://HOST[:PORT]/PATH [--ca CERT.pem] [MESSAGE...]";
    let text = url.ok_or(usage)?;
    let url = Url::parse(&text)?;
    if !url.secure {
        let plain = "this client speaks wss:// only; for ws:// use examples/wsdump.rs";
        return Err(plain.into());
    }

    let tls_config = Arc::new(tls_config(ca)?);
    // The name the certificate must carry: a DNS name or an IP address.
    let name = ServerName::try_from(url.host.to_string())?;
    let tls = ClientConnection::new(tls_config, name)?;

    let connect = |e| format!("cannot connect to {}:{}: {e}", url.host, url.port);
    let tcp = TcpStream::connect((url.host, url.port)).map_err(connect)?;
    tcp.set_nodelay(true)?;
    // Bounds the TLS handshake, which runs on the first write; the driver
    // sets its own timeouts after that.
    tcp.set_read_timeout(Some(REPLY_WAIT))?;
    let request = ClientRequest::new(url.authority, url.resource);
    let set_timeout = |s: &TlsStream, d| s.sock.set_read_timeout(d);
    let tls = StreamOwned::new(tls, tcp);
    let mut ws =
        WebSocket::client_with_timeouts(tls, &request, Config::default(), Some(set_timeout))?;
    let version = ws.get_ref().conn.protocol_version();
    eprintln!("connected to {text} over {}", version.map_or("TLS".into(), |v| format!("{v:?}")));

    if words.is_empty() {
        for line in std::io::stdin().lock().lines() {
            exchange(&mut ws, &line?)?;
        }
    } else {
        exchange(&mut ws, &words.join(" "))?;
    }
    ws.close(CloseCode::NORMAL, "")?;
    Ok(())
}

/// Trust the certificates of `ca` (PEM), or else the system's CA bundle.
fn tls_config(ca: Option<String>) -> Result<ClientConfig, Box<dyn std::error::Error>> {
    let ca = ca.or_else(|| std::env::var("SSL_CERT_FILE").ok()).or_else(|| {
        CA_BUNDLES.iter().find(|p| std::path::Path::new(p).exists()).map(|p| p.to_string())
    });
    let ca = ca.ok_or("no CA bundle found on this system: pass --ca CERT.pem")?;
    let certs =
        CertificateDer::pem_file_iter(&ca).and_then(|certs| certs.collect::<Result<Vec<_>, _>>());
    let certs = certs.map_err(|e| format!("{ca}: {e}"))?;
    let mut roots = RootCertStore::empty();
    // A system bundle may hold a few certificates webpki cannot use: skip them.
    if roots.add_parsable_certificates(certs).0 == 0 {
        return Err(format!("{ca}: no usable CA certificate").into());
    }
    Ok(ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
}

/// Send `line` and print the reply: the next message, Pings and Pongs aside.
fn exchange(ws: &mut WebSocket<TlsStream>, line: &str) -> Result<(), Error> {
    ws.send_text(line)?;
    loop {
        match ws.read_timeout(REPLY_WAIT)? {
            Some(Incoming::Text(reply)) => println!("{reply}"),
            Some(Incoming::Binary(data)) => println!("[{} bytes]", data.len()),
            Some(Incoming::Ping(_) | Incoming::Pong(_)) => continue,
            Some(Incoming::Close(info)) => println!("the server closed: {info:?}"),
            None => eprintln!("no reply within {} s", REPLY_WAIT.as_secs()),
        }
        return Ok(());
    }
}
