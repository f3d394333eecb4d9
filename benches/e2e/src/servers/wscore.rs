//! wscore's echo servers, on its tokio and blocking drivers.
//!
//! All the wscore-specific code of the benchmark is in this file, so that an
//! API change is adapted here alone. Each echoes a message the way the
//! drivers' docs show: what arrived goes back as it is (`into_message`), so
//! a large payload is sent by reference, and the replies to one read are
//! corked into one write by the driver.

use std::net::TcpStream as StdTcpStream;

use tokio::net::TcpStream;

use super::Result;

/// `wscore::tokio`: one task per connection.
pub async fn tokio(stream: TcpStream) -> Result {
    let mut ws = wscore::tokio::accept(stream).await?;
    while let Some(incoming) = ws.next().await {
        if let Some(message) = incoming?.into_message() {
            ws.send_message(&message).await?;
        }
    }
    Ok(())
}

/// `wscore::blocking`: one thread per connection.
pub fn blocking(stream: StdTcpStream) -> Result {
    let mut ws = wscore::blocking::WebSocket::accept(stream)?;
    loop {
        if let Some(message) = ws.read()?.into_message() {
            ws.send_message(&message)?;
        }
    }
}
