//! A chat server: rooms, names, direct messages, JSON over WebSocket, and a
//! browser page, all on one port.
//!
//! ```sh
//! cargo run --features tokio --example chat -- 127.0.0.1:8080
//! ```
//!
//! then open the printed URL in two browser windows. `GET /` serves the
//! page; a WebSocket upgrade on `/ws` is the chat (see `protocol.rs` for
//! the messages). Port 0 picks a free port; the URL line says which.
//!
//! - Heartbeat: the server pings after 20 s of silence and drops a peer
//!   that stays silent 10 s more (`Config::keepalive`).
//! - Limits: messages of at most 64 KiB (close 1009 past that), and a
//!   bounded queue of 256 messages per client: a client that stops reading
//!   is dropped with close code 1008 rather than buffered without end.
//! - Broadcasts are serialised once and the same buffer is queued for
//!   every member.
//! - Disconnects leave the room and tell the others.
//!
//! `--admin` (for tests only) adds `GET /admin/cut?name=NAME`, which cuts
//! that user's connection without a close frame, as a network failure
//! would.

mod http;
mod protocol;
mod room;
mod session;

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rfc6455::handshake::{self, AcceptOptions, Request};
use rfc6455::tokio::WebSocketStream;
use rfc6455::Config;
use tokio::net::{TcpListener, TcpStream};

use crate::http::Head;
use crate::room::Hub;

const PAGE: &str = include_str!("index.html");
/// The largest message a client may send.
const MAX_MESSAGE: usize = 64 * 1024;
/// Messages waiting for one slow client before it is dropped.
const QUEUE: usize = 256;
/// Time allowed for a request head to arrive.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

struct Server {
    hub: Arc<Hub>,
    config: Config,
    admin: bool,
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut admin = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--admin" => admin = true,
            "-h" | "--help" => {
                println!("usage: chat [ADDR] [--admin]   (ADDR defaults to 127.0.0.1:8080)");
                return Ok(());
            }
            _ => addr = arg,
        }
    }
    let listener = TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("chat: open http://{local}/ in a browser");
    io::stdout().flush()?;
    if admin {
        eprintln!("chat: test-only admin route enabled: GET /admin/cut?name=NAME");
    }

    let server = Arc::new(Server {
        hub: Arc::new(Hub::new(QUEUE)),
        config: Config::default()
            .max_message_size(MAX_MESSAGE)
            .max_frame_size(MAX_MESSAGE)
            .keepalive(Duration::from_secs(20), Duration::from_secs(10))
            .close_timeout(Duration::from_secs(3))
            .with_compression(),
        admin,
    });
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    tokio::spawn(serve(tcp, peer, server.clone()));
                }
                // Out of descriptors and the like: wait a little.
                Err(e) => {
                    eprintln!("chat: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = &mut shutdown => break,
        }
    }

    eprintln!("chat: shutting down");
    drop(listener);
    server.hub.shutdown();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while server.hub.len() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(mut tcp: TcpStream, peer: SocketAddr, server: Arc<Server>) {
    let _ = tcp.set_nodelay(true);
    let head = match tokio::time::timeout(HEAD_TIMEOUT, http::read_head(&mut tcp)).await {
        Ok(Ok(head)) => head,
        Ok(Err(_)) | Err(_) => return, // gone or too slow: just close
    };
    let result = match head {
        Head::Upgrade(request, leftover) => upgrade(tcp, request, leftover, peer, server).await,
        Head::Plain {
            method,
            path,
            error,
        } => plain(&mut tcp, &method, &path, error, &server).await,
        Head::Invalid(response) => http::send_and_close(&mut tcp, &response).await,
    };
    if let Err(e) = result {
        eprintln!("chat: {peer}: {e}");
    }
}

async fn upgrade(
    mut tcp: TcpStream,
    request: Request,
    leftover: Vec<u8>,
    peer: SocketAddr,
    server: Arc<Server>,
) -> io::Result<()> {
    if http::path_of(request.path()) != "/ws" {
        return http::respond(&mut tcp, 404, "text/plain", b"not found\n").await;
    }
    // Browsers send Origin: refuse pages of other sites (cross-site
    // WebSocket hijacking). Clients that are not browsers send none.
    if let Some(origin) = request.origin() {
        let ours = [
            format!("http://{}", request.host()),
            format!("https://{}", request.host()),
        ];
        if !ours.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
            let refusal = handshake::reject(403, &[], b"cross-origin WebSocket refused\n");
            return http::send_and_close(&mut tcp, &refusal).await;
        }
    }
    // Agree on the extensions the config supports (permessage-deflate).
    let accepted = request
        .accept(&AcceptOptions::default(), &server.config)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &accepted.encode()).await?;
    let conn = accepted.into_connection(&leftover);
    let ws = WebSocketStream::from_connection(tcp, conn);
    session::run(ws, server.hub.clone(), peer.to_string()).await;
    Ok(())
}

async fn plain(
    tcp: &mut TcpStream,
    method: &str,
    target: &str,
    error: handshake::Error,
    server: &Server,
) -> io::Result<()> {
    if method != "GET" {
        return http::respond(tcp, 405, "text/plain", b"method not allowed\n").await;
    }
    match http::path_of(target) {
        "/" | "/index.html" => {
            http::respond(tcp, 200, "text/html; charset=utf-8", PAGE.as_bytes()).await
        }
        // A GET on the WebSocket path that is not a valid upgrade: the
        // handshake error knows the right refusal (400, or 426 for a
        // wrong version).
        "/ws" => http::send_and_close(tcp, &error.response()).await,
        "/admin/cut" if server.admin => {
            let name = http::query_param(target, "name").unwrap_or_default();
            if server.hub.cut(name) {
                eprintln!("chat: admin cut {name}");
                http::respond(tcp, 200, "text/plain", b"cut\n").await
            } else {
                http::respond(tcp, 404, "text/plain", b"no such user\n").await
            }
        }
        _ => http::respond(tcp, 404, "text/plain", b"not found\n").await,
    }
}

/// Browsers offer permessage-deflate on every connection; with the
/// `deflate` feature the chat accepts it.
trait WithCompression {
    fn with_compression(self) -> Self;
}

impl WithCompression for Config {
    fn with_compression(self) -> Config {
        #[cfg(feature = "deflate")]
        let config = self.deflate(rfc6455::deflate::DeflateConfig::default());
        #[cfg(not(feature = "deflate"))]
        let config = self;
        config
    }
}
