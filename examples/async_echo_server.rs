//! An async echo server on tokio.
//!
//! ```text
//! cargo run --release --features tokio --example async_echo_server -- [ADDR] [--multi-thread]
//! ```
//!
//! A current-thread runtime unless `--multi-thread` is given; default
//! address `127.0.0.1:9001`.

use rfc6455::{Event, StreamError};
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
    loop {
        let (tcp, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = echo(tcp, peer).await {
                println!("{peer}: ended with error: {e}");
            }
        });
    }
}

async fn echo(tcp: TcpStream, peer: std::net::SocketAddr) -> Result<(), StreamError> {
    tcp.set_nodelay(true)?;
    let mut version = None;
    let mut ws = rfc6455::tokio::accept_with(tcp, Default::default(), |request| {
        version = Some(request.version());
        Ok(Default::default())
    })
    .await?;
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
