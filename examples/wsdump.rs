//! An interactive WebSocket client, in the spirit of Python websocket-client's
//! `wsdump`: every line read from stdin goes out as a text message, and
//! whatever the server sends is printed.
//!
//! ```sh
//! cargo run --example wsdump -- ws://HOST:PORT/path [--trace] [--subprotocol P]... [--header 'K: V']...
//! ```
//!
//! Received messages print as `< text`, `< [binary N bytes] 0a1b...`,
//! `< ping ...`, `< pong ...` and `< close CODE REASON`; there is no prompt,
//! so stdin can be a pipe. At the end of stdin the client lingers until the
//! server has been quiet for 50 ms (at most 1 s), so replies to the last lines
//! are printed (after its own Close, a WebSocket discards incoming data), then
//! closes with 1000 and exits 0. `--trace` (`-t`) prints
//! the handshake heads and every frame both ways on stderr: `>>` sent, `<<`
//! received. Plain TCP only: `wss://` is refused. Errors print as
//! `wsdump: ...` on stderr, with exit code 1.

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use wscore::blocking::{Error, Incoming, WebSocket};
use wscore::frame::{FrameHeader, OpCode, Parsed, MAX_HEADER_LEN};
use wscore::handshake::ClientRequest;
use wscore::url::Url;
use wscore::{CloseCode, Config};

const USAGE: &str = "usage: wsdump ws://HOST:PORT/path [--trace|-t] [--subprotocol P]... \
                     [--header 'Name: value']...";
/// How long each wait for the server lasts before stdin is checked again.
const POLL: Duration = Duration::from_millis(50);
/// The longest wait for replies after the end of stdin.
const LINGER: Duration = Duration::from_secs(1);

struct Args {
    url: String,
    trace: bool,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("wsdump: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut trace, mut subprotocols, mut headers) = (None, false, vec![], vec![]);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-t" | "--trace" => trace = true,
            "--subprotocol" => subprotocols.push(value("--subprotocol")?),
            "--header" => {
                let header = value("--header")?;
                match header.split_once(':') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                    _ => return Err(format!("bad --header {header:?}: expected 'Name: value'")),
                }
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}\n{USAGE}")),
            _ if url.is_none() => url = Some(arg),
            _ => return Err(format!("more than one URL given\n{USAGE}")),
        }
    }
    let url = url.ok_or(format!("no URL given\n{USAGE}"))?;
    Ok(Some(Args { url, trace, subprotocols, headers }))
}

fn run() -> Result<(), String> {
    let Some(args) = parse_args()? else {
        println!("{USAGE}");
        return Ok(());
    };
    let url = Url::parse(&args.url).map_err(|e| format!("bad URL {:?}: {e}", args.url))?;
    if url.secure {
        return Err("wss:// needs TLS, which this example does not support: use ws://".into());
    }
    let address = match url.host.contains(':') {
        true => format!("[{}]:{}", url.host, url.port), // IPv6
        false => format!("{}:{}", url.host, url.port),
    };
    let tcp = TcpStream::connect((url.host, url.port))
        .and_then(|tcp| tcp.set_nodelay(true).map(|()| tcp))
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    let subprotocols: Vec<&str> = args.subprotocols.iter().map(String::as_str).collect();
    let headers: Vec<(&str, &str)> =
        args.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let request = ClientRequest {
        host: url.authority,
        path: url.resource,
        subprotocols: &subprotocols,
        extensions: None,
        extra_headers: &headers,
    };
    let stream = Trace::new(tcp, args.trace);
    let set_timeout = |s: &Trace<TcpStream>, d| s.inner.set_read_timeout(d);
    let mut ws = match WebSocket::client_with_timeouts(
        stream,
        &request,
        Config::default(),
        Some(set_timeout),
    ) {
        Ok(ws) => ws,
        Err(Error::Rejected { status, headers }) => {
            let location = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location"));
            let to = location.map(|(_, v)| format!(" (Location: {v})")).unwrap_or_default();
            return Err(format!("{address} refused the upgrade: HTTP {status}, not 101{to}"));
        }
        Err(Error::Io(e)) => return Err(format!("handshake with {address} failed: {e}")),
        Err(e) => return Err(format!("{address}: {e}")),
    };
    eprintln!("connected to {}", args.url);
    if let Some(p) = ws.subprotocol() {
        eprintln!("subprotocol: {p}");
    }
    session(&mut ws).map_err(|e| e.to_string())
}

/// Send stdin's lines, print what arrives, close at the end of stdin.
fn session(ws: &mut WebSocket<Trace<TcpStream>>) -> Result<(), Error> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        while io::stdin().lock().read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let text = String::from_utf8_lossy(&line);
            if tx.send(text.trim_end_matches(['\r', '\n']).to_string()).is_err() {
                return;
            }
            line.clear();
        }
    });
    let mut stdin_ended: Option<Instant> = None;
    loop {
        match ws.read_timeout(POLL)? {
            Some(Incoming::Close(info)) => {
                match info {
                    Some(info) => println!("< close {} {}", info.code, info.reason),
                    None => println!("< close (no status code)"),
                }
                return ws.close(CloseCode::NORMAL, ""); // the reply is sent: wait for the end
            }
            Some(incoming) => show(incoming),
            None if stdin_ended.is_some() => return ws.close(CloseCode::NORMAL, ""),
            None => {}
        }
        if stdin_ended.is_some_and(|at| at.elapsed() >= LINGER) {
            return ws.close(CloseCode::NORMAL, "");
        }
        while stdin_ended.is_none() {
            match rx.try_recv() {
                Ok(line) => ws.send_text(&line)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => stdin_ended = Some(Instant::now()),
            }
        }
    }
}

fn show(incoming: Incoming) {
    match incoming {
        Incoming::Text(text) => println!("< {text}"),
        Incoming::Binary(data) => {
            let more = if data.len() > 32 { "..." } else { "" };
            println!("< [binary {} bytes] {}{more}", data.len(), hex(&data[..data.len().min(32)]));
        }
        Incoming::Ping(payload) => println!("< ping {}", escaped(&payload)),
        Incoming::Pong(payload) => println!("< pong {}", escaped(&payload)),
        Incoming::Close(_) => {}
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// UTF-8 payloads as escaped text, anything else as hex.
fn escaped(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(text) => text.escape_debug().to_string(),
        Err(_) => format!("[hex] {}", hex(payload)),
    }
}

/// A stream that forwards bytes and, when tracing, prints the handshake
/// heads and a line per frame in each direction.
struct Trace<S> {
    inner: S,
    sent: Tap,
    received: Tap,
}

impl<S> Trace<S> {
    fn new(inner: S, on: bool) -> Self {
        Trace { inner, sent: Tap::new(">>", on), received: Tap::new("<<", on) }
    }
}

impl<S: Read> Read for Trace<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.received.feed(&buf[..n]);
        Ok(n)
    }
}

impl<S: Write> Write for Trace<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sent.feed(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One direction of the byte stream, parsed for display.
struct Tap {
    arrow: &'static str,
    /// Tracing, and the stream is (still) WebSocket frames.
    on: bool,
    /// The handshake head until its blank line, then `None`.
    head: Option<Vec<u8>>,
    /// A frame header not all there yet.
    partial: Vec<u8>,
    /// The frame whose payload is arriving.
    frame: Option<FrameHeader>,
    /// Its first payload bytes (up to 16), unmasked.
    preview: Vec<u8>,
    /// Its payload bytes still to come.
    remaining: u64,
}

impl Tap {
    fn new(arrow: &'static str, on: bool) -> Self {
        let (head, partial, preview) = (Some(vec![]), vec![], vec![]);
        Tap { arrow, on, head, partial, frame: None, preview, remaining: 0 }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        if let (true, Some(head)) = (self.on, &mut self.head) {
            let old = head.len();
            head.extend_from_slice(bytes);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else { return };
            let text = String::from_utf8_lossy(&head[..end]).into_owned();
            text.lines().for_each(|line| eprintln!("{} {line}", self.arrow));
            let status = text.split(' ').nth(1);
            self.on = !text.starts_with("HTTP/") || status == Some("101"); // no frames after a 404
            bytes = &bytes[end + 4 - old..];
            self.head = None;
        }
        while self.on && !bytes.is_empty() {
            let Some(header) = &self.frame else {
                bytes = self.header(bytes);
                continue;
            };
            let take = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(bytes.len());
            let keep = take.min(16usize.saturating_sub(self.preview.len()));
            let mut piece = bytes[..keep].to_vec();
            if let Some(key) = header.mask {
                wscore::mask::apply_mask(&mut piece, key, self.preview.len());
            }
            self.preview.extend_from_slice(&piece);
            bytes = &bytes[take..];
            self.remaining -= take as u64;
            if keep > 0 && self.preview.len() as u64 == header.payload_len.min(16) {
                print_frame(self.arrow, header, &self.preview);
            }
            if self.remaining == 0 {
                self.frame = None;
            }
        }
    }

    /// Parse a frame header from the front of `bytes`; returns what follows it.
    fn header<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let old = self.partial.len();
        let take = bytes.len().min(MAX_HEADER_LEN - old);
        self.partial.extend_from_slice(&bytes[..take]);
        match FrameHeader::parse(&self.partial) {
            Ok(Parsed::Complete(header, len)) => {
                self.partial.clear();
                self.preview.clear();
                self.remaining = header.payload_len;
                match header.payload_len {
                    0 => print_frame(self.arrow, &header, &[]),
                    _ => self.frame = Some(header),
                }
                &bytes[len - old..]
            }
            Ok(Parsed::Incomplete { .. }) => &[],
            Err(e) => {
                eprintln!("{} not a frame header ({e}): trace stops here", self.arrow);
                self.on = false;
                &[]
            }
        }
    }
}

fn print_frame(arrow: &str, h: &FrameHeader, preview: &[u8]) {
    let key =
        h.mask.map_or("unmasked".into(), |k| format!("masked key={:08x}", u32::from_be_bytes(k)));
    let rsv = if h.rsv != 0 { format!(" rsv={:03b}", h.rsv) } else { String::new() };
    let shown = |&b: &u8| if b == b' ' || b.is_ascii_graphic() { b as char } else { '.' };
    let printable: String = preview.iter().map(shown).collect();
    let code = match (h.opcode, preview) {
        (OpCode::Close, [a, b, ..]) => format!(" (code {})", u16::from_be_bytes([*a, *b])),
        _ => String::new(),
    };
    let (op, fin, len, hex) = (h.opcode, u8::from(h.fin), h.payload_len, hex(preview));
    eprintln!("{arrow} {op:?} fin={fin}{rsv} len={len} {key} | {hex} |{printable}|{code}");
}
