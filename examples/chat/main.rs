//! A chat server on axum: rooms, names, direct messages, JSON over
//! WebSocket, and a browser page, all on one port.
//!
//! ```sh
//! cargo run --features axum,tls,deflate --example chat -- 127.0.0.1:8080
//! ```
//!
//! then open the printed URL in two browser windows. `GET /` serves the
//! page; `/ws` is the chat's WebSocket (see `protocol.rs` for the
//! messages), taken by `rfc6455::axum::WebSocketUpgrade` over HTTP/1.1
//! (`Upgrade: websocket`) or HTTP/2 (extended CONNECT, RFC 8441), which is
//! why its route is `any`. Port 0 picks a free port; the URL line says
//! which. Without `--tls`, `axum::serve` speaks HTTP/1.1 and HTTP/2 with
//! prior knowledge; browsers use HTTP/1.1 on plain http.
//!
//! With `--tls`, the port serves HTTPS, offering HTTP/2 and HTTP/1.1 by
//! ALPN. Browsers then load the page over HTTP/2 and open the `wss://`
//! WebSocket as an extended CONNECT stream on the same connection. A
//! self-signed certificate for trying it out:
//!
//! ```sh
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
//!     -days 30 -subj /CN=localhost \
//!     -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
//!     -keyout key.pem -out cert.pem
//! cargo run --features axum,tls,deflate --example chat -- \
//!     127.0.0.1:8443 --tls cert.pem key.pem
//! ```
//!
//! (the browser warns about it once). Each WebSocket session logs the HTTP
//! version it came over: `chat: session 127.0.0.1:5555 over HTTP/2.0: ...`.
//!
//! - Origin: a browser page of another site is refused with 403
//!   (cross-site WebSocket hijacking); clients that send no `Origin` (not
//!   browsers) are let in.
//! - Heartbeat: the server pings after 20 s of silence and drops a peer
//!   that stays silent 10 s more (`Config::keepalive`).
//! - Limits: messages of at most 64 KiB (close 1009 past that), and a
//!   bounded queue of 256 messages per client: a client that stops reading
//!   is dropped with close code 1008 rather than buffered without end.
//!   With `--tls`, the TLS handshake and an HTTP/1.1 request head have 10 s
//!   each (`axum::serve` has no such setting).
//! - Compression: with the `deflate` feature, the permessage-deflate every
//!   browser offers is accepted.
//! - Rooms are topics of an `rfc6455::hub::Hub`: each broadcast is
//!   serialised, framed and (with deflate) compressed once for every
//!   member, and each connection's own `recv` loop writes what its rooms
//!   send it.
//! - `--redis redis://HOST:PORT`: rooms span every instance pointed at the
//!   same Redis (pub/sub; see `redis_bus.rs`). Losing Redis is logged and
//!   retried with backoff; rooms keep working on each instance meanwhile.
//!   `GET /healthz` says `{"connections":N,"redis":"up"}` (or `"down"`,
//!   `"off"`), for a load balancer's health check.
//! - Disconnects leave the room and tell the others; Ctrl-C or SIGTERM
//!   closes every WebSocket with 1001 and exits.
//!
//! `--admin` (for tests only) adds `GET /admin/cut?name=NAME`, which cuts
//! that user's connection without a close frame, as a network failure
//! would.

mod protocol;
mod redis_bus;
mod room;
mod session;

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::ListenerExt as _;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rfc6455::axum::WebSocketUpgrade;
use rfc6455::handshake::Refusal;
use rfc6455::hub::{Hub, HubConfig};
use rfc6455::tls::rustls;
use rfc6455::{Config, Shutdown};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::redis_bus::RedisBus;
use crate::room::Chat as Rooms;

const PAGE: &str = include_str!("index.html");
/// The largest message a client may send.
const MAX_MESSAGE: usize = 64 * 1024;
/// Messages waiting for one slow client before it is dropped.
const QUEUE: usize = 256;
/// Bytes waiting for one slow client before it is dropped.
const QUEUE_BYTES: usize = 256 * 1024;
/// Time allowed for a TLS handshake, and for an HTTP/1.1 request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

const USAGE: &str = "usage: chat [ADDR] [--tls CERT.pem KEY.pem] [--redis URL] [--admin]
  ADDR              where to listen (default 127.0.0.1:8080; port 0: any free port)
  --tls CERT KEY    serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate chain and key
  --redis URL       share rooms with every instance using this Redis (redis://HOST:PORT)
  --admin           test only: GET /admin/cut?name=NAME cuts that user's connection";

struct Args {
    addr: String,
    tls: Option<(PathBuf, PathBuf)>,
    redis: Option<String>,
    admin: bool,
}

/// The handlers' state.
#[derive(Clone)]
struct Chat {
    rooms: Arc<Rooms>,
    redis: Option<Arc<RedisBus>>,
    shutdown: Shutdown,
    config: Config,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("chat: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        addr: "127.0.0.1:8080".into(),
        tls: None,
        redis: None,
        admin: false,
    };
    let mut addr = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--admin" => parsed.admin = true,
            "--redis" => match args.next() {
                Some(url) if !url.starts_with("--") => parsed.redis = Some(url),
                _ => return Err("--redis needs a URL: redis://HOST:PORT".into()),
            },
            "--tls" => match (args.next(), args.next()) {
                (Some(cert), Some(key)) if !cert.starts_with("--") && !key.starts_with("--") => {
                    parsed.tls = Some((cert.into(), key.into()));
                }
                _ => return Err("--tls needs two files: CERT.pem KEY.pem".into()),
            },
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if addr.is_some() => return Err(format!("unexpected argument {arg}")),
            _ => addr = Some(arg),
        }
    }
    if let Some(addr) = addr {
        parsed.addr = addr;
    }
    Ok(Some(parsed))
}

async fn run(args: Args) -> io::Result<()> {
    // Bad certificate files fail before anything listens.
    let tls = match &args.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let listener = TcpListener::bind(&args.addr).await?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("chat: open {scheme}://{local}/ in a browser");
    io::stdout().flush()?;
    if args.admin {
        eprintln!("chat: test-only admin route enabled: GET /admin/cut?name=NAME");
    }

    let hub_config = HubConfig::default()
        .max_queue_messages(QUEUE)
        .max_queue_bytes(QUEUE_BYTES);
    let (redis, hub) = match &args.redis {
        Some(url) => {
            let (bus, hub) =
                redis_bus::start(url, |bus| Hub::with_bus(hub_config, bus)).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("--redis {url}: {e}"))
                })?;
            eprintln!("chat: rooms shared through Redis at {url}");
            (Some(bus), hub)
        }
        None => (None, Hub::new(hub_config)),
    };
    let shutdown = Shutdown::new();
    let chat = Chat {
        rooms: Arc::new(Rooms::new(hub)),
        redis,
        shutdown: shutdown.clone(),
        config: Config::default()
            .max_message_size(MAX_MESSAGE)
            .max_frame_size(MAX_MESSAGE)
            .keepalive(Duration::from_secs(20), Duration::from_secs(10))
            .close_timeout(Duration::from_secs(3))
            .with_compression(),
    };
    let app = router(chat, args.admin);
    let serving = async {
        match tls {
            None => {
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                let app = app.into_make_service_with_connect_info::<SocketAddr>();
                axum::serve(listener, app).await
            }
            Some(acceptor) => serve_tls(listener, acceptor, app).await,
        }
    };
    tokio::select! {
        result = serving => result?,
        _ = shutdown_signal() => {}
    }

    // The listener is closed; the connections' tasks still run. Each
    // closes with 1001 and waits for its peer's close.
    eprintln!("chat: shutting down");
    shutdown.signal("server shutting down");
    let left = shutdown.wait_async(Duration::from_secs(3)).await;
    if left > 0 {
        eprintln!("chat: {left} connections did not finish closing");
    }
    Ok(())
}

fn router(chat: Chat, admin: bool) -> Router {
    let mut app = Router::new()
        .route("/", get(page))
        .route("/index.html", get(page))
        // `any`: over HTTP/2 the WebSocket handshake is a CONNECT.
        .route("/ws", any(websocket))
        .route("/healthz", get(health));
    if admin {
        app = app.route("/admin/cut", get(cut));
    }
    app.with_state(chat)
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE,
    )
}

/// `/ws`. A request that is not a valid WebSocket handshake never gets
/// here: the extractor answers it (400, or 426 for another version).
async fn websocket(
    State(chat): State<Chat>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let request = upgrade.request();
    // Browsers send Origin: refuse pages of other sites (cross-site
    // WebSocket hijacking). Clients that are not browsers send none.
    if let Some(origin) = request.origin() {
        let host = request.host();
        let ours = [format!("http://{host}"), format!("https://{host}")];
        if !ours.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
            let refusal = Refusal::new(403).body("cross-origin WebSocket refused\n");
            return upgrade.refuse(refusal);
        }
    }
    let version = upgrade.version();
    let guard = chat.shutdown.guard();
    // The config also agrees on permessage-deflate, when it enables it.
    upgrade
        .config(chat.config)
        .on_upgrade(move |ws| session::run(ws, chat.rooms, guard, peer, version))
}

/// `GET /healthz`: this instance's connections and, with `--redis`, whether
/// messages from the other instances arrive (`"off"` without it). A load
/// balancer's health check.
async fn health(State(chat): State<Chat>) -> impl IntoResponse {
    let redis = match &chat.redis {
        None => "off",
        Some(bus) if bus.is_up() => "up",
        Some(_) => "down",
    };
    let body = format!(
        "{{\"connections\":{},\"redis\":\"{redis}\"}}\n",
        chat.rooms.len()
    );
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// `GET /admin/cut?name=NAME` (with `--admin` only).
async fn cut(State(chat): State<Chat>, RawQuery(query): RawQuery) -> (StatusCode, &'static str) {
    // No percent-decoding: names are plain tokens.
    let name = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("name="))
        .unwrap_or_default();
    if chat.rooms.cut(name) {
        eprintln!("chat: admin cut {name}");
        (StatusCode::OK, "cut\n")
    } else {
        (StatusCode::NOT_FOUND, "no such user\n")
    }
}

/// HTTPS on one port: TLS, then HTTP/2 or HTTP/1.1 as ALPN agreed, with
/// upgrades, and extended CONNECT enabled so that browsers open WebSockets
/// over HTTP/2.
async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor, app: Router) -> io::Result<()> {
    let mut http = Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT);
    http.http2().enable_connect_protocol();
    let http = Arc::new(http);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors and the like: wait a little.
            Err(e) => {
                eprintln!("chat: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, http) = (acceptor.clone(), http.clone());
        // What `into_make_service_with_connect_info` gives axum::serve.
        let app = app.clone().layer(Extension(ConnectInfo(peer)));
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return eprintln!("chat: {peer}: TLS handshake failed: {e}"),
                Err(_) => return eprintln!("chat: {peer}: TLS handshake timed out"),
            };
            let service = TowerToHyperService::new(app);
            if let Err(e) = http
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .await
            {
                eprintln!("chat: {peer}: {e}");
            }
        });
    }
}

/// A rustls server config from PEM files, offering HTTP/2 and HTTP/1.1.
fn tls_acceptor(cert: &Path, key: &Path) -> io::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let invalid = |path: &Path, e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: {e}", path.display()),
        )
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(cert, &e))?;
    if chain.is_empty() {
        return Err(invalid(cert, &"no CERTIFICATE in the file"));
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| invalid(key, &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
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

/// Browsers offer permessage-deflate on every connection; with the
/// `deflate` feature the chat accepts it with the defaults, which keep no
/// context between messages: each broadcast is compressed once for every
/// member, and a connection holds no zlib state between messages.
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
