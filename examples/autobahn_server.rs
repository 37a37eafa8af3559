//! The Autobahn|Testsuite server testee: an echo server.
//!
//! ```text
//! cargo run --release --features tokio,deflate --example autobahn_server -- 127.0.0.1:9002 [--tokio]
//! cargo run --release --features axum,deflate --example autobahn_server -- 127.0.0.1:9002 --axum
//! ```
//!
//! The blocking adapter with a thread per connection; with `--tokio` the
//! async adapter on a current-thread runtime (needs the `tokio` feature);
//! with `--axum` an axum `Router` served by `axum::serve` on a
//! current-thread runtime, the upgrade done by
//! `rfc6455::axum::WebSocketUpgrade` (needs the `axum` feature). All
//! three echo with the same [`config`], log one line per session naming the
//! HTTP version it came over, and on SIGTERM or Ctrl-C close every
//! connection with 1001 and exit 0 once their closing handshakes are done
//! (at most the close timeout).

use std::net::{TcpListener, TcpStream};
use std::sync::LazyLock;
use std::time::Duration;

use rfc6455::blocking;
use rfc6455::{Config, Event, Shutdown, StreamError};

/// Every mode's connections, closed with 1001 on SIGTERM or Ctrl-C.
static SHUTDOWN: LazyLock<Shutdown> = LazyLock::new(Shutdown::new);

/// On SIGTERM or Ctrl-C: Close 1001 to every connection, wait for their
/// closing handshakes (at most the close timeout), exit 0.
fn exit_on_stop_signal() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let open = SHUTDOWN.open();
            SHUTDOWN.signal("server shutting down");
            let left = SHUTDOWN.wait(config().close_timeout + Duration::from_millis(500));
            eprintln!(
                "autobahn_server: shut down: {open} connections closed with 1001, {left} left"
            );
            std::process::exit(0);
        }
    });
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    exit_on_stop_signal()?;
    if args.iter().any(|a| a == "--tokio") {
        return tokio_main(&addr);
    }
    if args.iter().any(|a| a == "--axum") {
        return axum_main(&addr);
    }
    let listener = TcpListener::bind(&addr)?;
    eprintln!("autobahn_server (blocking) on {}", listener.local_addr()?);
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = echo(stream);
        });
    }
    Ok(())
}

/// The default limits hold the suite's largest messages (16 MiB in 9.x);
/// with the `deflate` feature, permessage-deflate is accepted (12.x, 13.x).
fn config() -> Config {
    let config = Config::default();
    #[cfg(feature = "deflate")]
    let config = config.deflate(rfc6455::deflate::DeflateConfig::default());
    config
}

fn echo(stream: TcpStream) -> Result<(), StreamError> {
    stream.set_nodelay(true)?;
    let guard = SHUTDOWN.guard();
    let mut ws = blocking::accept_with(stream, config(), |request| {
        eprintln!("session over {}", request.version());
        Ok(Default::default())
    })?;
    ws.set_shutdown(guard);
    loop {
        match ws.recv()? {
            Event::Text(text) => ws.send(text)?,
            Event::Binary(data) => ws.send(data)?,
            Event::Close(_) => return Ok(()),
            Event::Ping(_) | Event::Pong(_) => {}
        }
    }
}

#[cfg(feature = "tokio")]
fn tokio_main(addr: &str) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!("autobahn_server (tokio) on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            tokio::spawn(async move {
                let _ = echo_async(tcp).await;
            });
        }
    })
}

#[cfg(feature = "tokio")]
async fn echo_async(tcp: tokio::net::TcpStream) -> Result<(), StreamError> {
    tcp.set_nodelay(true)?;
    let guard = SHUTDOWN.guard();
    let mut ws = rfc6455::tokio::accept_with(tcp, config(), |request| {
        eprintln!("session over {}", request.version());
        Ok(Default::default())
    })
    .await?;
    ws.set_shutdown(guard);
    echo_stream(ws).await
}

/// The echo loop of `--tokio` and `--axum`.
#[cfg(feature = "tokio")]
async fn echo_stream<S>(mut ws: rfc6455::tokio::WebSocketStream<S>) -> Result<(), StreamError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match ws.recv().await? {
            Event::Text(text) => ws.send(text).await?,
            Event::Binary(data) => ws.send(data).await?,
            Event::Close(_) => return Ok(()),
            Event::Ping(_) | Event::Pong(_) => {}
        }
    }
}

#[cfg(not(feature = "tokio"))]
fn tokio_main(_addr: &str) -> std::io::Result<()> {
    eprintln!(
        "--tokio needs the tokio feature: cargo run --features tokio --example autobahn_server"
    );
    std::process::exit(2);
}

#[cfg(feature = "axum")]
fn axum_main(addr: &str) -> std::io::Result<()> {
    use axum::serve::{Listener, ListenerExt};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        eprintln!("autobahn_server (axum) on {}", listener.local_addr()?);
        // `any`, not `get`: over HTTP/2 the handshake is a CONNECT.
        let app = axum::Router::new().route("/", axum::routing::any(axum_handler));
        axum::serve(listener, app).await
    })
}

/// Any WebSocket request on `/` (HTTP/1.1 GET + Upgrade, or HTTP/2
/// extended CONNECT): echo with the same config as the other modes.
#[cfg(feature = "axum")]
async fn axum_handler(upgrade: rfc6455::axum::WebSocketUpgrade) -> axum::response::Response {
    eprintln!("session over {}", upgrade.version());
    let guard = SHUTDOWN.guard();
    upgrade.config(config()).on_upgrade(|mut ws| async move {
        ws.set_shutdown(guard);
        let _ = echo_stream(ws).await;
    })
}

#[cfg(not(feature = "axum"))]
fn axum_main(_addr: &str) -> std::io::Result<()> {
    eprintln!(
        "--axum needs the axum feature: cargo run --features axum,deflate --example autobahn_server -- --axum"
    );
    std::process::exit(2);
}
