//! The Autobahn|Testsuite server testee: an echo server.
//!
//! ```text
//! cargo run --release --example autobahn_server -- 127.0.0.1:9002 [--tokio]
//! ```

use std::net::{TcpListener, TcpStream};

use rfc6455::blocking::WebSocket;
use rfc6455::{Event, StreamError};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9002".into());
    if args.any(|a| a == "--tokio") {
        eprintln!("--tokio: the async adapter is not built yet");
        std::process::exit(2);
    }
    let listener = TcpListener::bind(&addr)?;
    eprintln!("autobahn_server (blocking) on {addr}");
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = echo(stream);
        });
    }
    Ok(())
}

fn echo(stream: TcpStream) -> Result<(), StreamError> {
    stream.set_nodelay(true)?;
    let mut ws = WebSocket::accept(stream)?;
    loop {
        match ws.recv()? {
            Event::Text(text) => ws.send(text)?,
            Event::Binary(data) => ws.send(data)?,
            Event::Close(_) => return Ok(()),
            Event::Ping(_) | Event::Pong(_) => {}
        }
    }
}
