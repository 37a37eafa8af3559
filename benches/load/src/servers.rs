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
}

/// Runs server `kind` on a free port of 127.0.0.1 until killed. Prints
/// `ready PORT` on stdout once listening.
pub fn run(kind: Kind) -> io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    if kind == Kind::Rfc6455Blocking {
        return run_blocking(addr);
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
                    let _ = echo_rfc6455(tcp).await;
                }),
                Kind::Tungstenite => tokio::spawn(async move {
                    let _ = echo_tungstenite(tcp).await;
                }),
                Kind::Fastwebsockets => tokio::spawn(async move {
                    let _ = echo_fastwebsockets(tcp).await;
                }),
                Kind::Sockudo => tokio::spawn(async move {
                    let _ = echo_sockudo(tcp).await;
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

async fn echo_rfc6455(tcp: TcpStream) -> Result<(), rfc6455::StreamError> {
    let mut ws = rfc6455::tokio::accept(tcp).await?;
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

/// sockudo-ws 3.1: the upgrade as in its examples/simple_echo.rs
/// (`handshake::parse_request`, `generate_accept_key`, `build_response` on
/// the plain `TcpStream`), then `WebSocketStream::server` with
/// `Config::default()` and the echo loop its README gives for a Tokio
/// unified stream ("explicitly queue data replies with `feed`"; `next()`
/// flushes what is queued before it waits for more input).
async fn echo_sockudo(mut tcp: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    use bytes::BytesMut;
    use sockudo_ws::handshake::{build_response, generate_accept_key, parse_request};
    use sockudo_ws::{Config, Message, WebSocketStream};
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        if tcp.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        if let Some((request, used)) = parse_request(&buf)? {
            if used != buf.len() {
                return Err("frames pipelined after the handshake".into());
            }
            let response = build_response(&generate_accept_key(request.key), None, None);
            tcp.write_all(&response).await?;
            break;
        }
    }
    drop(buf);
    let mut ws = WebSocketStream::server(tcp, Config::default());
    while let Some(message) = ws.next().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.feed(message).await?,
            Message::Close(_) => return Ok(()),
            _ => {} // Ping/Pong are handled by the stream.
        }
    }
    Ok(())
}

/// The loopback reference: a 4-byte big-endian length, then the payload,
/// read whole into a reused buffer and written back with its prefix.
async fn echo_tcp(mut tcp: TcpStream) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let len = match tcp.read_u32().await {
            Ok(len) => len as usize,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        buf.clear();
        buf.extend_from_slice(&(len as u32).to_be_bytes());
        buf.resize(4 + len, 0);
        tcp.read_exact(&mut buf[4..]).await?;
        tcp.write_all(&buf).await?;
    }
}

fn run_blocking(addr: SocketAddr) -> io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    announce_ready(listener.local_addr()?.port());
    for stream in listener.incoming() {
        let stream = stream?;
        stream.set_nodelay(true)?;
        std::thread::spawn(move || -> Result<(), rfc6455::StreamError> {
            let mut ws = rfc6455::blocking::WebSocket::accept(stream)?;
            while let Some(message) = ws.recv_message()? {
                ws.send(message)?;
            }
            Ok(())
        });
    }
    Ok(())
}
