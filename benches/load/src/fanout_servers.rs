//! The fan-out servers under test: each accepts subscribers on any path
//! and one publisher on [`PUB_PATH`], and sends every text message the
//! publisher sends to every subscriber, written the way a user of that
//! library writes a broadcast. Each runs in its own child process, pinned
//! to one core, on a current-thread tokio runtime.
//!
//! Every server registers a subscriber before its 101 answer is written,
//! so a message published after the generator has seen all its 101s
//! reaches every subscriber.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// The publisher's request path; every other path subscribes.
pub const PUB_PATH: &str = "/pub";
/// The one topic everybody subscribes to (hub and sockudo-ws pub/sub).
pub const TOPIC: &str = "all";
/// Capacity of the `tokio::sync::broadcast` channels.
const BROADCAST_CAPACITY: usize = 1024;

/// A fan-out server the tool can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanKind {
    /// This crate's hub (`rfc6455::hub`); with `--deflate`, one
    /// compression per message for all subscribers
    /// (`server_no_context_takeover`).
    Rfc6455,
    /// The hub again, but with context takeover: each connection
    /// compresses every message itself (deflate runs only).
    Rfc6455PerClient,
    /// This crate without the hub: a `tokio::sync::broadcast` channel and
    /// a task per subscriber calling `send`, as for tokio-tungstenite.
    Rfc6455Broadcast,
    /// tokio-tungstenite, broadcast channel, `send` per message.
    Tungstenite,
    /// fastwebsockets, broadcast channel, `write_frame` per message.
    Fastwebsockets,
    /// sockudo-ws with its own pub/sub (`PubSub`).
    Sockudo,
    /// No WebSocket library: a fixed 101 answer, then the publisher's
    /// frames re-encoded once and the same bytes written to every socket.
    Tcp,
}

impl FanKind {
    pub const ALL: [FanKind; 7] = [
        FanKind::Rfc6455,
        FanKind::Rfc6455PerClient,
        FanKind::Rfc6455Broadcast,
        FanKind::Tungstenite,
        FanKind::Fastwebsockets,
        FanKind::Sockudo,
        FanKind::Tcp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FanKind::Rfc6455 => "rfc6455",
            FanKind::Rfc6455PerClient => "rfc6455-per-client",
            FanKind::Rfc6455Broadcast => "rfc6455-broadcast",
            FanKind::Tungstenite => "tokio-tungstenite",
            FanKind::Fastwebsockets => "fastwebsockets",
            FanKind::Sockudo => "sockudo-ws",
            FanKind::Tcp => "tcp",
        }
    }

    pub fn from_name(name: &str) -> Option<FanKind> {
        FanKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// One line on what the server does per message, for the table's legend.
    pub fn describe(self, deflate: bool) -> &'static str {
        match (self, deflate) {
            (FanKind::Rfc6455, false) => "hub: publish(PreparedMessage) queues a pointer per subscriber; each stream's recv loop writes its queue (many frames per write)",
            (FanKind::Rfc6455, true) => "hub, server_no_context_takeover: each message compressed once, the frame shared by every subscriber",
            (FanKind::Rfc6455PerClient, _) => "hub, context takeover: each connection compresses each message itself",
            (FanKind::Rfc6455Broadcast, false) => "tokio broadcast channel, a task per subscriber: rx.recv() then ws.send() (flushes per message)",
            (FanKind::Rfc6455Broadcast, true) => "tokio broadcast channel, ws.send() per subscriber (flushes per message), compressing per connection (context takeover)",
            (FanKind::Tungstenite, _) => "tokio broadcast channel of Message, a task per subscriber: rx.recv() then ws.send() (flushes per message)",
            (FanKind::Fastwebsockets, _) => "tokio broadcast channel of Bytes, a task per subscriber: rx.recv() then write_frame() (a write per message)",
            (FanKind::Sockudo, false) => "its PubSub: publish() clones the Message into each subscriber's unbounded mpsc; split stream, select! over reader and channel, writer.send() per message",
            (FanKind::Sockudo, true) => "its PubSub as without deflate; Compression::Shared (no context takeover, level 6): compresses per connection",
            (FanKind::Tcp, _) => "no library: the publisher's frames unmasked into one buffer per read, written to every socket in turn (upper bound)",
        }
    }

    /// Whether the server can answer a permessage-deflate offer.
    pub fn compresses(self) -> bool {
        matches!(
            self,
            FanKind::Rfc6455
                | FanKind::Rfc6455PerClient
                | FanKind::Rfc6455Broadcast
                | FanKind::Sockudo
        )
    }
}

/// Runs fan-out server `kind` on a free port of 127.0.0.1 until killed.
/// Prints `ready PORT` on stdout once listening.
pub fn run(kind: FanKind, deflate: bool) -> io::Result<()> {
    if deflate && !kind.compresses() {
        eprintln!(
            "{} has no permessage-deflate: serving uncompressed",
            kind.name()
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        crate::servers::announce_ready(listener.local_addr()?.port());
        match kind {
            FanKind::Rfc6455 => serve_hub(listener, deflate, false).await,
            FanKind::Rfc6455PerClient => serve_hub(listener, deflate, true).await,
            FanKind::Rfc6455Broadcast => serve_rfc6455_broadcast(listener, deflate).await,
            FanKind::Tungstenite => serve_tungstenite(listener).await,
            FanKind::Fastwebsockets => serve_fastwebsockets(listener).await,
            FanKind::Sockudo => serve_sockudo(listener, deflate).await,
            FanKind::Tcp => serve_tcp(listener).await,
        }
    })
}

/// Accepts connections with `TCP_NODELAY`, handing each to `handle`.
async fn accept_loop<F, Fut>(listener: TcpListener, mut handle: F) -> io::Result<()>
where
    F: FnMut(TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static,
{
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        tokio::task::spawn_local(handle(tcp));
    }
}

/// Reports the end of a subscriber on stderr when it was not the
/// generator closing the connection (a lagging receiver, say).
fn report(server: &str, what: &str) {
    eprintln!("{server} fan-out server: {what}");
}

// ---------------------------------------------------------------------------
// rfc6455 with its hub, as the `rfc6455::hub` docs show: a subscriber per
// connection, attached to the stream, whose `recv` loop writes what the
// hub queues; the publisher's messages prepared once and published.

async fn serve_hub(listener: TcpListener, deflate: bool, context_takeover: bool) -> io::Result<()> {
    use rfc6455::deflate::DeflateConfig;
    use rfc6455::hub::{Hub, HubConfig};
    let hub = Hub::new(HubConfig::default());
    let config = match (deflate, context_takeover) {
        (false, _) => rfc6455::Config::default(),
        // The defaults: no context takeover, so each message is compressed
        // once and the frame shared by every subscriber.
        (true, false) => rfc6455::Config::default().deflate(DeflateConfig::default()),
        // Context takeover: each connection compresses each message itself,
        // against what it sent before.
        (true, true) => rfc6455::Config::default().deflate(
            DeflateConfig::default()
                .server_no_context_takeover(false)
                .client_no_context_takeover(false),
        ),
    };
    accept_loop(listener, move |tcp| {
        let hub = hub.clone();
        let config = config.clone();
        async move {
            // Errors end one connection quietly: the generator drops its
            // connections without a closing handshake. A subscriber the hub
            // evicts gets a close frame, which the generator reports.
            let _ = hub_conn(tcp, hub, config).await;
        }
    })
    .await
}

async fn hub_conn(
    tcp: TcpStream,
    hub: rfc6455::hub::Hub,
    config: rfc6455::Config,
) -> Result<(), rfc6455::StreamError> {
    let sub = hub.subscriber();
    let mut publisher = false;
    let mut ws = rfc6455::tokio::accept_with(tcp, config, |request| {
        publisher = request.path() == PUB_PATH;
        if !publisher {
            sub.subscribe(TOPIC); // before the 101 goes out
        }
        Ok(rfc6455::handshake::AcceptOptions::default())
    })
    .await?;
    if publisher {
        while let Some(message) = ws.recv_message().await? {
            hub.publish(TOPIC, rfc6455::PreparedMessage::new(message));
        }
        return Ok(());
    }
    ws.attach(&sub);
    // Keeps the connection, and its deliveries, going; ends when the
    // generator drops the connection.
    while ws.recv().await.is_ok() {}
    Ok(())
}

// ---------------------------------------------------------------------------
// rfc6455 without the hub: a broadcast channel, a task per subscriber.

async fn serve_rfc6455_broadcast(listener: TcpListener, deflate: bool) -> io::Result<()> {
    let (tx, _) = broadcast::channel::<rfc6455::Message>(BROADCAST_CAPACITY);
    // With deflate: context takeover, so every connection compresses every
    // message itself, as a per-connection compressor does.
    let config = if deflate {
        rfc6455::Config::default().deflate(
            rfc6455::deflate::DeflateConfig::default()
                .server_no_context_takeover(false)
                .client_no_context_takeover(false),
        )
    } else {
        rfc6455::Config::default()
    };
    accept_loop(listener, move |tcp| {
        let tx = tx.clone();
        let config = config.clone();
        async move {
            if let Err(e) = rfc6455_broadcast_conn(tcp, tx, config).await {
                report("rfc6455-broadcast", &e);
            }
        }
    })
    .await
}

async fn rfc6455_broadcast_conn(
    tcp: TcpStream,
    tx: broadcast::Sender<rfc6455::Message>,
    config: rfc6455::Config,
) -> Result<(), String> {
    let mut rx = tx.subscribe();
    let mut publisher = false;
    let mut ws = rfc6455::tokio::accept_with(tcp, config, |request| {
        publisher = request.path() == PUB_PATH;
        Ok(rfc6455::handshake::AcceptOptions::default())
    })
    .await
    .map_err(|e| e.to_string())?;
    if publisher {
        drop(rx);
        while let Ok(Some(message)) = ws.recv_message().await {
            let _ = tx.send(message);
        }
        return Ok(());
    }
    loop {
        match rx.recv().await {
            Ok(message) => {
                if ws.send(message).await.is_err() {
                    return Ok(()); // the generator closed the connection
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                return Err(format!("subscriber lagged by {n} messages: closing it"))
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// tokio-tungstenite: broadcast channel of `Message`s (cloning one is a
// reference count), `send` per message, which flushes.

async fn serve_tungstenite(listener: TcpListener) -> io::Result<()> {
    use tokio_tungstenite::tungstenite::Message;
    let (tx, _) = broadcast::channel::<Message>(BROADCAST_CAPACITY);
    accept_loop(listener, move |tcp| {
        let tx = tx.clone();
        async move {
            if let Err(e) = tungstenite_conn(tcp, tx).await {
                report("tokio-tungstenite", &e);
            }
        }
    })
    .await
}

// tungstenite's callback type returns its whole error response by value.
#[allow(clippy::result_large_err)]
async fn tungstenite_conn(
    tcp: TcpStream,
    tx: broadcast::Sender<tokio_tungstenite::tungstenite::Message>,
) -> Result<(), String> {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let mut rx = tx.subscribe();
    let mut publisher = false;
    let callback = |request: &Request, response: Response| {
        publisher = request.uri().path() == PUB_PATH;
        Ok(response)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
        .await
        .map_err(|e| e.to_string())?;
    if publisher {
        drop(rx);
        while let Some(Ok(message)) = ws.next().await {
            if message.is_text() || message.is_binary() {
                let _ = tx.send(message);
            } else if message.is_close() {
                break;
            }
        }
        return Ok(());
    }
    loop {
        match rx.recv().await {
            Ok(message) => {
                if ws.send(message).await.is_err() {
                    return Ok(());
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                return Err(format!("subscriber lagged by {n} messages: closing it"))
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// fastwebsockets: broadcast channel of `Bytes`, `write_frame` per message.

async fn serve_fastwebsockets(listener: TcpListener) -> io::Result<()> {
    let (tx, _) = broadcast::channel::<Bytes>(BROADCAST_CAPACITY);
    accept_loop(listener, move |tcp| {
        let tx = tx.clone();
        async move {
            if let Err(e) = fastwebsockets_conn(tcp, tx).await {
                report("fastwebsockets", &e.to_string());
            }
        }
    })
    .await
}

async fn fastwebsockets_conn(
    mut tcp: TcpStream,
    tx: broadcast::Sender<Bytes>,
) -> Result<(), Box<dyn std::error::Error>> {
    use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, Role, WebSocket};
    let mut rx = tx.subscribe();
    // fastwebsockets leaves the upgrade to hyper; without hyper, the
    // sans-IO parser from this crate does it (as in the echo server).
    let Some(path) = crate::servers::upgrade(&mut tcp).await? else {
        return Ok(());
    };
    let publisher = path == PUB_PATH;
    let mut ws = WebSocket::after_handshake(tcp, Role::Server);
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    if publisher {
        drop(rx);
        let mut ws = FragmentCollector::new(ws);
        loop {
            let Ok(frame) = ws.read_frame().await else {
                return Ok(()); // the generator dropped the connection
            };
            match frame.opcode {
                OpCode::Close => return Ok(()),
                OpCode::Text | OpCode::Binary => {
                    let _ = tx.send(Bytes::copy_from_slice(&frame.payload));
                }
                _ => {}
            }
        }
    }
    loop {
        match rx.recv().await {
            Ok(message) => {
                if ws
                    .write_frame(Frame::text(Payload::Borrowed(&message)))
                    .await
                    .is_err()
                {
                    return Ok(());
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                return Err(format!("subscriber lagged by {n} messages: closing it").into())
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// sockudo-ws: its pub/sub, as in its examples/pubsub_echo.rs (HTTP/1
// upgrade with `handshake::parse_request` / `build_response` on a plain
// `TcpListener`, the stream split, a `tokio::select!` between the reader
// and the subscriber's unbounded channel). With `--deflate`, the offer is
// negotiated as its axum integration does (`negotiate_server_deflate`
// against `Compression::Shared`'s `DeflateConfig`) and the connection is a
// `CompressedWebSocketStream`: the HTTP/1 `WebSocketServer::accept` does
// not negotiate permessage-deflate.

async fn serve_sockudo(listener: TcpListener, deflate: bool) -> io::Result<()> {
    let pubsub = Arc::new(sockudo_ws::PubSub::new());
    let config = if deflate {
        sockudo_ws::Config::builder()
            .compression(sockudo_ws::Compression::Shared)
            .build()
    } else {
        sockudo_ws::Config::default()
    };
    accept_loop(listener, move |tcp| {
        let pubsub = pubsub.clone();
        let config = config.clone();
        async move {
            if let Err(e) = sockudo_conn(tcp, pubsub, config).await {
                report("sockudo-ws", &e.to_string());
            }
        }
    })
    .await
}

/// The sockudo-ws subscriber loop, for the plain and the compressed
/// stream types (the same code in its example, one type at a time).
macro_rules! sockudo_subscriber {
    ($stream:expr, $rx:ident) => {{
        use sockudo_ws::Message;
        let (mut reader, mut writer) = $stream.split();
        loop {
            tokio::select! {
                message = reader.next() => match message {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                Some(message) = $rx.recv() => {
                    if writer.send(message).await.is_err() {
                        break;
                    }
                }
            }
        }
    }};
}

macro_rules! sockudo_publisher {
    ($stream:expr, $pubsub:ident) => {{
        use sockudo_ws::Message;
        let mut ws = $stream;
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(_) | Message::Binary(_) => {
                    $pubsub.publish(TOPIC, message);
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    }};
}

async fn sockudo_conn(
    mut tcp: TcpStream,
    pubsub: Arc<sockudo_ws::PubSub>,
    config: sockudo_ws::Config,
) -> Result<(), Box<dyn std::error::Error>> {
    use sockudo_ws::deflate::negotiate_server_deflate;
    use sockudo_ws::handshake::{build_response, generate_accept_key, parse_request};
    use sockudo_ws::{CompressedWebSocketStream, WebSocketStream};

    let mut buf = BytesMut::with_capacity(4096);
    let mut subscriber = None;
    let deflate = loop {
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
            if request.path.as_ref() != PUB_PATH {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let id = pubsub.create_subscriber(tx);
                pubsub.subscribe(id, TOPIC);
                subscriber = Some((id, rx));
            }
            let extensions = negotiated.as_ref().map(|n| n.to_response_header());
            let response = build_response(
                &generate_accept_key(request.key),
                None,
                extensions.as_deref(),
            );
            tcp.write_all(&response).await?;
            break negotiated.map(|n| n.config);
        }
    };
    match (subscriber, deflate) {
        (Some((id, mut rx)), None) => {
            sockudo_subscriber!(WebSocketStream::server(tcp, config), rx);
            pubsub.remove_subscriber(id);
        }
        (Some((id, mut rx)), Some(deflate)) => {
            sockudo_subscriber!(CompressedWebSocketStream::server(tcp, config, deflate), rx);
            pubsub.remove_subscriber(id);
        }
        (None, None) => sockudo_publisher!(WebSocketStream::server(tcp, config), pubsub),
        (None, Some(deflate)) => sockudo_publisher!(
            CompressedWebSocketStream::server(tcp, config, deflate),
            pubsub
        ),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The plain-TCP upper bound: no library. Subscribers get a 101 and are
// then only written to; the publisher's masked frames are unmasked into
// one buffer of unmasked frames per read, and that buffer is written to
// every subscriber in turn.

async fn serve_tcp(listener: TcpListener) -> io::Result<()> {
    let subscribers: Rc<RefCell<Vec<TcpStream>>> = Rc::default();
    accept_loop(listener, move |tcp| {
        let subscribers = subscribers.clone();
        async move {
            if let Err(e) = tcp_conn(tcp, subscribers).await {
                report("tcp", &e.to_string());
            }
        }
    })
    .await
}

async fn tcp_conn(mut tcp: TcpStream, subscribers: Rc<RefCell<Vec<TcpStream>>>) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let (key, publisher) = loop {
        if tcp.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).map_err(io::Error::other)?;
            let publisher = head.starts_with(&format!("GET {PUB_PATH} "));
            let key = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("sec-websocket-key")
                        .then(|| value.trim().to_string())
                })
                .ok_or_else(|| io::Error::other("no Sec-WebSocket-Key"))?;
            buf.drain(..end + 4);
            break (key, publisher);
        }
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        rfc6455::handshake::accept_key(key.as_bytes())
    );
    tcp.write_all(response.as_bytes()).await?;
    if !publisher {
        subscribers.borrow_mut().push(tcp);
        return Ok(());
    }
    let mut out = Vec::with_capacity(4096);
    loop {
        // Every complete frame in `buf`, unmasked, into `out`.
        let mut at = 0;
        while let Some((fin_op, payload_at, len, mask)) = client_frame(&buf[at..]) {
            let start = at + payload_at;
            rfc6455::frame::apply_mask(&mut buf[start..start + len], mask, 0);
            if fin_op & 0x0F == 0x8 {
                return Ok(());
            }
            let mut header = rfc6455::frame::FrameHeader::new(
                rfc6455::frame::OpCode::from_bits(fin_op),
                len as u64,
            );
            header.fin = fin_op & 0x80 != 0;
            header.encode(&mut out);
            out.extend_from_slice(&buf[start..start + len]);
            at = start + len;
        }
        buf.drain(..at);
        if !out.is_empty() {
            let mut list = std::mem::take(&mut *subscribers.borrow_mut());
            let mut alive = Vec::with_capacity(list.len());
            for mut sub in list.drain(..) {
                if sub.write_all(&out).await.is_ok() {
                    alive.push(sub);
                }
            }
            // Subscribers that arrived while writing were pushed meanwhile.
            let mut current = subscribers.borrow_mut();
            alive.append(&mut current);
            *current = alive;
            out.clear();
        }
        if tcp.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

/// A complete masked client frame at the start of `data`: (first byte,
/// payload offset, payload length, mask key).
fn client_frame(data: &[u8]) -> Option<(u8, usize, usize, [u8; 4])> {
    if data.len() < 2 {
        return None;
    }
    let (len, at) = match data[1] & 0x7F {
        126 => (
            u16::from_be_bytes(data.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(data.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let mask: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    if data.len() < at + 4 + len {
        return None;
    }
    Some((data[0], at + 4, len, mask))
}
