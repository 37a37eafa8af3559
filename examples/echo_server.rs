//! A blocking echo server: a thread per connection.
//!
//! ```text
//! cargo run --release --example echo_server [ADDR]    # default 127.0.0.1:9001
//! cargo run --release --features deflate --example echo_server   # with permessage-deflate
//! ```
//!
//! On SIGTERM or Ctrl-C every connection closes with 1001 (Going Away) and
//! the process exits 0 once their closing handshakes are done, or after
//! the close timeout.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use rfc6455::blocking;
use rfc6455::{Event, Shutdown, ShutdownGuard, State, StreamError};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    let shutdown = Shutdown::new();
    on_stop_signal(shutdown.clone())?;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let guard = shutdown.guard();
        thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            if let Err(e) = serve(stream, guard) {
                println!("{}: ended with error: {e}", show(peer));
            }
        });
    }
    Ok(())
}

/// On SIGTERM or Ctrl-C: Close 1001 to every connection, wait for their
/// closing handshakes (at most the close timeout), exit 0.
fn on_stop_signal(shutdown: Shutdown) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    thread::spawn(move || {
        if signals.forever().next().is_some() {
            let open = shutdown.open();
            shutdown.signal("server shutting down");
            let wait = config().close_timeout + Duration::from_millis(500);
            let left = shutdown.wait(wait);
            println!(
                "shut down: {open} connections closed with 1001, {left} did not finish in time"
            );
            std::process::exit(0);
        }
    });
    Ok(())
}

fn serve(stream: TcpStream, guard: ShutdownGuard) -> Result<(), StreamError> {
    let peer = stream.peer_addr().ok();
    stream.set_nodelay(true)?;
    let mut version = None;
    let mut ws = blocking::accept_with(stream, config(), |request| {
        version = Some(request.version());
        Ok(Default::default())
    })?;
    // On shutdown: Close 1001, then the peer's Close comes back below.
    ws.set_shutdown(guard);
    // One line per session, naming the HTTP version it arrived over.
    println!(
        "{}: connected over {}",
        show(peer),
        version.map_or_else(|| "?".into(), |v| v.to_string())
    );
    loop {
        match ws.recv()? {
            Event::Text(text) => ws.send(text)?,
            Event::Binary(data) => ws.send(data)?,
            Event::Ping(_) | Event::Pong(_) => {}
            Event::Close(frame) => {
                if let State::Closed(status) = ws.state() {
                    println!(
                        "{}: closed with {} {:?} (clean: {})",
                        show(peer),
                        status.code,
                        status.reason,
                        status.clean
                    );
                } else {
                    println!("{}: closed with {frame:?}", show(peer));
                }
                return Ok(());
            }
        }
    }
}

/// Default limits; with the `deflate` feature, permessage-deflate is
/// accepted when the client offers it.
fn config() -> rfc6455::Config {
    let config = rfc6455::Config::default();
    #[cfg(feature = "deflate")]
    let config = config.deflate(rfc6455::deflate::DeflateConfig::default());
    config
}

fn show(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "?".into(), |p| p.to_string())
}
