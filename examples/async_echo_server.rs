//! An async echo server on tokio.
//!
//! ```text
//! cargo run --release --features tokio --example async_echo_server -- [ADDR] [--multi-thread]
//! ```
//!
//! A current-thread runtime unless `--multi-thread` is given; default
//! address `127.0.0.1:9001`. On SIGTERM or Ctrl-C it stops accepting,
//! closes every connection with 1001 (Going Away) and exits 0 once their
//! closing handshakes are done, or after the close timeout.

use std::time::Duration;

use rfc6455::{Config, Event, Shutdown, ShutdownGuard, StreamError};
use tokio::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let multi_thread = args.iter().any(|a| a == "--multi-thread");
    let addr = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    runtime.block_on(serve(addr))
}

async fn serve(addr: String) -> std::io::Result<()> {
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "async echo server listening on ws://{}",
        listener.local_addr()?
    );
    let shutdown = Shutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = stop_signal() => break,
        };
        let guard = shutdown.guard();
        tokio::spawn(async move {
            if let Err(e) = echo(tcp, peer, guard).await {
                println!("{peer}: ended with error: {e}");
            }
        });
    }
    drop(listener);
    let open = shutdown.open();
    shutdown.signal("server shutting down");
    let left = shutdown
        .wait_async(Config::default().close_timeout + Duration::from_millis(500))
        .await;
    println!("shut down: {open} connections closed with 1001, {left} did not finish in time");
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn echo(
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    guard: ShutdownGuard,
) -> Result<(), StreamError> {
    tcp.set_nodelay(true)?;
    let mut version = None;
    let mut ws = rfc6455::tokio::accept_with(tcp, Default::default(), |request| {
        version = Some(request.version());
        Ok(Default::default())
    })
    .await?;
    // On shutdown: Close 1001, then the peer's Close comes back below.
    ws.set_shutdown(guard);
    // One line per session, naming the HTTP version it arrived over.
    if let Some(version) = version {
        println!("{peer}: connected over {version}");
    }
    loop {
        match ws.recv().await? {
            Event::Text(text) => ws.send(text).await?,
            Event::Binary(data) => ws.send(data).await?,
            Event::Close(_) => return Ok(()),
            Event::Ping(_) | Event::Pong(_) => {}
        }
    }
}
