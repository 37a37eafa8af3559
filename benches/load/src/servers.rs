//! The echo servers under test, each a minimal "read a message, send it
//! back" loop. Each runs in its own child process, pinned to one core; the
//! async ones on a current-thread tokio runtime.

use std::io::{self, Write as _};
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server the tool can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// This crate's tokio adapter.
    Rfc6455,
    /// This crate's blocking adapter, a thread per connection.
    Rfc6455Blocking,
    /// tokio-tungstenite.
    Tungstenite,
    /// fastwebsockets (handshake done with rfc6455's sans-IO parser).
    Fastwebsockets,
    /// sockudo-ws: the echo loop its README recommends for a Tokio
    /// `WebSocketStream` (`next` / `feed`), handshake as in its
    /// examples/simple_echo.rs.
    Sockudo,
    /// Plain TCP: length-prefixed messages, read whole, echoed.
    Tcp,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Rfc6455,
        Kind::Rfc6455Blocking,
        Kind::Tungstenite,
        Kind::Fastwebsockets,
        Kind::Sockudo,
        Kind::Tcp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Rfc6455 => "rfc6455",
            Kind::Rfc6455Blocking => "rfc6455-blocking",
            Kind::Tungstenite => "tokio-tungstenite",
            Kind::Fastwebsockets => "fastwebsockets",
            Kind::Sockudo => "sockudo-ws",
            Kind::Tcp => "tcp",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the client speaks WebSocket to it.
    pub fn is_websocket(self) -> bool {
        self != Kind::Tcp
    }

    /// Whether its echo server can negotiate permessage-deflate (RFC 7692):
    /// tungstenite 0.30 and fastwebsockets 0.10 have no implementation of
    /// it, and the plain TCP echo has no extensions.
    pub fn deflates(self) -> bool {
        matches!(self, Kind::Rfc6455 | Kind::Rfc6455Blocking | Kind::Sockudo)
    }
}

/// Runs server `kind` on a free port of 127.0.0.1 until killed. Prints
/// `ready PORT` on stdout once listening. With `deflate`, the servers
/// that can ([`Kind::deflates`]) answer a permessage-deflate offer,
/// compressing at zlib level `level` if given, else at their default.
pub fn run(kind: Kind, deflate: bool, level: Option<u32>) -> io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    if deflate && !kind.deflates() {
        return Err(io::Error::other(format!(
            "{} has no permessage-deflate",
            kind.name()
        )));
    }
    if kind == Kind::Rfc6455Blocking {
        return run_blocking(addr, deflate, level);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        announce_ready(listener.local_addr()?.port());
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            // Errors end one connection quietly: the load generator drops
            // its connections without a closing handshake.
            match kind {
                Kind::Rfc6455 => tokio::spawn(async move {
                    let _ = echo_rfc6455(tcp, deflate, level).await;
                }),
                Kind::Tungstenite => tokio::spawn(async move {
                    let _ = echo_tungstenite(tcp).await;
                }),
                Kind::Fastwebsockets => tokio::spawn(async move {
                    let _ = echo_fastwebsockets(tcp).await;
                }),
                Kind::Sockudo => tokio::spawn(async move {
                    let _ = echo_sockudo(tcp, deflate, level).await;
                }),
                Kind::Tcp => tokio::spawn(async move {
                    let _ = echo_tcp(tcp).await;
                }),
                Kind::Rfc6455Blocking => unreachable!(),
            };
        }
    })
}

pub(crate) fn announce_ready(port: u16) {
    let mut out = io::stdout();
    let _ = writeln!(out, "ready {port}");
    let _ = out.flush();
}

/// This crate's configuration for the echo: the defaults, and with
/// `deflate` the default `DeflateConfig` (no context takeover either way,
/// 15-bit windows, level 1, messages under 32 bytes sent uncompressed), as
/// the `deflate` docs show; `level` (`--deflate-level`) replaces level 1.
fn rfc6455_config(deflate: bool, level: Option<u32>) -> rfc6455::Config {
    if deflate {
        let mut config = rfc6455::deflate::DeflateConfig::default();
        if let Some(level) = level {
            config = config.compression_level(level);
        }
        rfc6455::Config::default().deflate(config)
    } else {
        rfc6455::Config::default()
    }
}

async fn echo_rfc6455(
    tcp: TcpStream,
    deflate: bool,
    level: Option<u32>,
) -> Result<(), rfc6455::StreamError> {
    let mut ws = rfc6455::tokio::accept_with(tcp, rfc6455_config(deflate, level), |_| {
        Ok(rfc6455::handshake::AcceptOptions::default())
    })
    .await?;
    while let Some(message) = ws.recv_message().await? {
        ws.send(message).await?;
    }
    Ok(())
}

async fn echo_tungstenite(tcp: TcpStream) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let mut ws = tokio_tungstenite::accept_async(tcp).await?;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_text() || message.is_binary() {
            ws.send(message).await?;
        } else if message.is_close() {
            break;
        }
    }
    Ok(())
}

/// The HTTP/1.1 upgrade for a peer that leaves it to hyper (fastwebsockets):
/// done by this crate's sans-IO parser, outside what is measured. Reads the
/// request, writes the 101, and returns the request's path; `None` when the
/// client left first.
pub(crate) async fn upgrade(
    tcp: &mut TcpStream,
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    use rfc6455::handshake::{parse_request, AcceptOptions, Limits, Parsed};
    let mut buf = Vec::with_capacity(1024);
    let (response, path) = loop {
        if tcp.read_buf(&mut buf).await? == 0 {
            return Ok(None);
        }
        match parse_request(&buf, &Limits::default())? {
            Parsed::Complete(request, used) => {
                if used != buf.len() {
                    return Err("frames pipelined after the handshake".into());
                }
                let path = request.path().to_owned();
                let response = request
                    .accept(&AcceptOptions::default(), &rfc6455::Config::default())?
                    .encode();
                break (response, path);
            }
            Parsed::Partial => continue,
        }
    };
    tcp.write_all(&response).await?;
    Ok(Some(path))
}

async fn echo_fastwebsockets(mut tcp: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    if upgrade(&mut tcp).await?.is_none() {
        return Ok(());
    }
    let mut ws = WebSocket::after_handshake(tcp, Role::Server);
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

/// sockudo-ws's echo loop, for the plain and the compressed stream types.
macro_rules! sockudo_echo {
    ($stream:expr) => {{
        use sockudo_ws::Message;
        let mut ws = $stream;
        while let Some(message) = ws.next().await {
            match message? {
                message @ (Message::Text(_) | Message::Binary(_)) => ws.feed(message).await?,
                Message::Close(_) => break,
                _ => {} // Ping/Pong are handled by the stream.
            }
        }
    }};
}

/// sockudo-ws 3.1: the upgrade as in its examples/simple_echo.rs
/// (`handshake::parse_request`, `generate_accept_key`, `build_response` on
/// the plain `TcpStream`), then `WebSocketStream::server` with
/// `Config::default()` and the echo loop its README gives for a Tokio
/// unified stream ("explicitly queue data replies with `feed`"; `next()`
/// flushes what is queued before it waits for more input).
///
/// With `deflate`: its HTTP/1 server handshake never negotiates
/// permessage-deflate (only its axum integration does), so the offer is
/// negotiated as that integration does it: `negotiate_server_deflate`
/// against `Config::builder().compression(Compression::Shared)`'s
/// `to_deflate_config()` (the mode its README recommends for many
/// connections: no context takeover, zlib level 6, messages under 16
/// bytes uncompressed), the answer passed to `build_response`, and the
/// same echo loop on a `CompressedWebSocketStream` (as in the fan-out).
/// `level` (`--deflate-level`) replaces the negotiated level 6.
async fn echo_sockudo(
    mut tcp: TcpStream,
    deflate: bool,
    level: Option<u32>,
) -> Result<(), Box<dyn std::error::Error>> {
    use bytes::BytesMut;
    use sockudo_ws::deflate::negotiate_server_deflate;
    use sockudo_ws::handshake::{build_response, generate_accept_key, parse_request};
    use sockudo_ws::{CompressedWebSocketStream, Compression, Config, WebSocketStream};
    let config = if deflate {
        Config::builder().compression(Compression::Shared).build()
    } else {
        Config::default()
    };
    let mut buf = BytesMut::with_capacity(4096);
    let negotiated = loop {
        if tcp.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        if let Some((request, used)) = parse_request(&buf)? {
            if used != buf.len() {
                return Err("frames pipelined after the handshake".into());
            }
            let negotiated = config.compression.to_deflate_config().and_then(|policy| {
                request
                    .extensions
                    .and_then(|offers| negotiate_server_deflate(offers, &policy))
            });
            let extensions = negotiated.as_ref().map(|n| n.to_response_header());
            let response = build_response(
                &generate_accept_key(request.key),
                None,
                extensions.as_deref(),
            );
            tcp.write_all(&response).await?;
            break negotiated.map(|n| {
                let mut config = n.config;
                if let Some(level) = level {
                    config.compression_level = level;
                }
                config
            });
        }
    };
    drop(buf);
    match negotiated {
        None => sockudo_echo!(WebSocketStream::server(tcp, config)),
        Some(deflate) => sockudo_echo!(CompressedWebSocketStream::server(tcp, config, deflate)),
    }
    Ok(())
}

/// The loopback reference: a 4-byte big-endian length, then the payload.
///
/// Read the way the WebSocket servers read: into a 64 KiB buffer, one
/// `read` for whatever has arrived (with one message in flight, the whole
/// message: one `recvfrom` per message, as for rfc6455, fastwebsockets
/// and sockudo-ws), and each whole message written back from that buffer
/// with its prefix in one `write`. A message larger than the buffer grows
/// it to the message's size, so the message is still echoed in one write.
///
/// Idle memory as rfc6455's tokio adapter keeps it: a connection waiting
/// for its next message holds no buffer; it hands the empty buffer to a
/// small per-thread stack ([`tcp_buffers`]) and takes one back when bytes
/// arrive, so 10,000 idle connections hold none and a busy one does not
/// allocate per message.
async fn echo_tcp(mut tcp: TcpStream) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Echo every whole message at the front of the buffer.
        let mut at = 0;
        let wanted = loop {
            let rest = &buf[at..];
            let Some(prefix) = rest.get(..4) else {
                break 4 - rest.len();
            };
            let total = 4 + u32::from_be_bytes(prefix.try_into().unwrap()) as usize;
            if rest.len() < total {
                break total - rest.len();
            }
            tcp.write_all(&rest[..total]).await?;
            at += total;
        };
        buf.drain(..at);
        let read = std::future::poll_fn(|cx| read_some(&mut tcp, &mut buf, wanted, cx));
        if read.await? == 0 {
            return Ok(()); // the generator dropped the connection
        }
    }
}

/// One read into `buf`, with room for `wanted` more bytes at least, as
/// `rfc6455::tokio` reads: a connection without a buffer takes one from
/// [`tcp_buffers`], and one that has to wait with nothing buffered gives
/// it back first.
fn read_some(
    tcp: &mut TcpStream,
    buf: &mut Vec<u8>,
    wanted: usize,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<io::Result<usize>> {
    use std::future::Future;
    if buf.capacity() == 0 {
        *buf = tcp_buffers::take();
    }
    buf.reserve(wanted.max(tcp_buffers::SIZE.saturating_sub(buf.len())));
    let polled = {
        let read = tcp.read_buf(&mut *buf);
        std::pin::pin!(read).poll(cx)
    };
    if polled.is_pending() && buf.is_empty() {
        tcp_buffers::give_back(std::mem::take(buf));
    }
    polled
}

/// The plain TCP echo's read buffers, kept per thread while connections
/// wait, as `rfc6455::tokio` keeps its own (at most 16 of 64 KiB; larger
/// ones, after a large message, are freed).
mod tcp_buffers {
    use std::cell::RefCell;

    /// A buffer's usual capacity.
    pub const SIZE: usize = 64 * 1024;
    const MAX_KEPT: usize = 16;

    thread_local! {
        static KEPT: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A kept buffer, or a new one of [`SIZE`].
    pub fn take() -> Vec<u8> {
        KEPT.with(|kept| kept.borrow_mut().pop())
            .unwrap_or_else(|| Vec::with_capacity(SIZE))
    }

    /// Keeps an empty buffer for another connection, or frees it.
    pub fn give_back(buf: Vec<u8>) {
        debug_assert!(buf.is_empty());
        if buf.capacity() == 0 || buf.capacity() > SIZE {
            return;
        }
        KEPT.with(|kept| {
            let mut kept = kept.borrow_mut();
            if kept.len() < MAX_KEPT {
                kept.push(buf);
            }
        });
    }
}

fn run_blocking(addr: SocketAddr, deflate: bool, level: Option<u32>) -> io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    announce_ready(listener.local_addr()?.port());
    for stream in listener.incoming() {
        let stream = stream?;
        stream.set_nodelay(true)?;
        std::thread::spawn(move || -> Result<(), rfc6455::StreamError> {
            let mut ws = rfc6455::blocking::accept_with(
                stream,
                rfc6455_config(deflate, level),
                |_| Ok(rfc6455::handshake::AcceptOptions::default()),
            )?;
            while let Some(message) = ws.recv_message()? {
                ws.send(message)?;
            }
            Ok(())
        });
    }
    Ok(())
}
