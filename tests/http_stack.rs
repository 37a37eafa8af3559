//! WebSockets where servers live: axum and hyper, over HTTP/1.1 (Upgrade)
//! and HTTP/2 (RFC 8441 extended CONNECT), in-process on 127.0.0.1, with
//! our clients (HTTP/1.1 and HTTP/2) and tokio-tungstenite's.
#![cfg(all(feature = "axum", feature = "h2", feature = "deflate"))]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::any;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rfc6455::axum::{WebSocket, WebSocketUpgrade};
use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{
    AcceptOptions, BuildError, ClientRequest, Error as HandshakeError, HttpVersion, Refusal,
    ResponseError,
};
use rfc6455::{CloseCode, Config, Event, Message, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn deflate() -> Config {
    Config::default().deflate(DeflateConfig::default())
}

async fn echo(mut ws: WebSocket) {
    while let Ok(Some(message)) = ws.recv_message().await {
        if ws.send(message).await.is_err() {
            return;
        }
    }
}

/// An axum app whose `/ws` echoes (deflate on, subprotocol `chat`
/// preferred), refuses a foreign Origin with 403, and reports the HTTP
/// version of every accepted WebSocket.
async fn axum_server() -> (SocketAddr, mpsc::UnboundedReceiver<HttpVersion>) {
    let (versions, seen) = mpsc::unbounded_channel();
    let handler = move |upgrade: WebSocketUpgrade| {
        let versions = versions.clone();
        async move {
            if upgrade.request().origin() == Some("https://evil.test") {
                return upgrade.refuse(Refusal::new(403).body("not from there"));
            }
            let _ = versions.send(upgrade.version());
            upgrade
                .config(deflate())
                .protocols(["chat", "superchat"])
                .on_upgrade(echo)
        }
    };
    let app = Router::new().route("/ws", any(handler));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

fn request(addr: SocketAddr) -> ClientRequest {
    ClientRequest::new(&format!("ws://{addr}/ws"))
        .unwrap()
        .protocols(["superchat", "chat"])
        .unwrap()
}

/// Text, a compressible binary message and a clean close through `ws`.
async fn exercise<S>(ws: &mut rfc6455::tokio::WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send("hello").await.unwrap();
    assert_eq!(
        ws.recv_message().await.unwrap(),
        Some(Message::Text("hello".into()))
    );
    let big = vec![7u8; 300_000];
    ws.send(big.clone()).await.unwrap();
    assert_eq!(
        ws.recv_message().await.unwrap(),
        Some(Message::Binary(big.into()))
    );
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    loop {
        match ws.recv().await {
            Ok(Event::Close(frame)) => {
                assert_eq!(frame.map(|f| f.code), Some(CloseCode::NORMAL));
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn axum_over_http11_with_our_client() {
    let (addr, mut seen) = axum_server().await;
    timeout(LIMIT, async {
        let (mut ws, response) = rfc6455::tokio::connect_with(request(addr), deflate())
            .await
            .unwrap();
        assert_eq!(response.status(), 101);
        // The server's preference wins among what we offered.
        assert_eq!(response.protocol(), Some("chat"));
        assert!(response.agreed_extensions().deflate().is_some());
        assert!(ws.connection().extensions().deflate().is_some());
        exercise(&mut ws).await;
        assert_eq!(seen.recv().await, Some(HttpVersion::Http11));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn axum_over_http2_extended_connect_with_our_client() {
    let (addr, mut seen) = axum_server().await;
    timeout(LIMIT, async {
        let (mut ws, response) = rfc6455::tokio::h2::connect_with(request(addr), deflate())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.protocol(), Some("chat"));
        assert!(response.agreed_extensions().deflate().is_some());
        exercise(&mut ws).await;
        assert_eq!(seen.recv().await, Some(HttpVersion::Http2));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn many_websockets_share_one_http2_connection() {
    let (addr, mut seen) = axum_server().await;
    timeout(LIMIT, async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (send_request, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(connection);
        // A request first, so the server's SETTINGS are in.
        let probe = http::Request::get(format!("http://{addr}/nothing"))
            .body(())
            .unwrap();
        let (answer, _) = send_request
            .clone()
            .ready()
            .await
            .unwrap()
            .send_request(probe, true)
            .unwrap();
        assert_eq!(answer.await.unwrap().status(), 404);
        let mut sockets = Vec::new();
        for i in 0..5 {
            let (ws, _) =
                rfc6455::tokio::h2::connect_on(send_request.clone(), request(addr), deflate())
                    .await
                    .unwrap();
            sockets.push((i, ws));
        }
        for (i, ws) in &mut sockets {
            ws.send(format!("stream {i}")).await.unwrap();
        }
        for (i, ws) in &mut sockets {
            assert_eq!(
                ws.recv_message().await.unwrap(),
                Some(Message::Text(format!("stream {i}").into()))
            );
        }
        for _ in 0..5 {
            assert_eq!(seen.recv().await, Some(HttpVersion::Http2));
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn axum_with_tokio_tungstenite() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message as TMessage;
    let (addr, mut seen) = axum_server().await;
    timeout(LIMIT, async {
        let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
        req.headers_mut()
            .insert("sec-websocket-protocol", "superchat".parse().unwrap());
        let (mut ws, response) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], "superchat");
        ws.send(TMessage::text("from tungstenite")).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            TMessage::text("from tungstenite")
        );
        ws.send(TMessage::binary(vec![1u8; 70_000])).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            TMessage::binary(vec![1u8; 70_000])
        );
        ws.close(None).await.unwrap();
        assert_eq!(seen.recv().await, Some(HttpVersion::Http11));
    })
    .await
    .unwrap();
}

/// Writes `request` raw and returns the whole answer.
async fn raw_exchange(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = timeout(Duration::from_secs(2), async {
        let mut chunk = [0u8; 4096];
        loop {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&chunk[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n")
                        && !answer.starts_with(b"HTTP/1.1 101")
                    {
                        // Refusals carry a Content-Length; read it all.
                        let text = String::from_utf8_lossy(&answer);
                        if let Some(len) = text.lines().find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_owned)
                        }) {
                            let head = text.find("\r\n\r\n").unwrap() + 4;
                            if answer.len() >= head + len.trim().parse::<usize>().unwrap() {
                                break;
                            }
                        }
                    }
                    if answer.starts_with(b"HTTP/1.1 101") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn upgrade_request(extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn axum_refusals_are_proper_http_answers() {
    let (addr, _seen) = axum_server().await;
    // Another version: 426 naming ours (RFC 6455 §4.4).
    let answer = raw_exchange(
        addr,
        &upgrade_request("").replace("Version: 13", "Version: 8"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{answer}"
    );
    // A plain GET on the WebSocket route: 400 with the rule broken.
    let answer = raw_exchange(addr, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("RFC 6455"), "{answer}");
    // The application's own refusal.
    let answer = raw_exchange(addr, &upgrade_request("Origin: https://evil.test\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.ends_with("not from there"), "{answer}");
    // A body announced on an upgrade is refused, never read as frames
    // (RFC 9112 §6.3, RFC 9110 §7.8).
    let mut smuggled = upgrade_request("Content-Length: 14\r\n");
    smuggled.push_str("\u{81}\u{88}\0\0\0\0smuggled");
    let answer = raw_exchange(addr, &smuggled).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("RFC 9110"), "{answer}");
}

#[tokio::test]
async fn after_a_refusal_nothing_more_is_served_on_the_connection() {
    // A refused upgrade followed by a request a front proxy may never have
    // seen (it took the connection for a tunnel): the server must close
    // rather than serve it (the WebSocket-smuggling shape).
    let (addr, _seen) = axum_server().await;
    let refused = upgrade_request("").replace("Version: 13", "Version: 8");
    for next in [
        "GET /ws HTTP/1.1\r\nHost: internal\r\n\r\n",
        "\u{81}\u{80}\0\0\0\0",
    ] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(format!("{refused}{next}").as_bytes())
            .await
            .unwrap();
        let mut answer = Vec::new();
        timeout(LIMIT, tcp.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
        assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn axum_accepts_an_absolute_form_target() {
    let (addr, mut seen) = axum_server().await;
    let request = upgrade_request("").replace("GET /ws ", &format!("GET http://{addr}/ws "));
    let answer = raw_exchange(addr, &request).await;
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    assert_eq!(seen.recv().await, Some(HttpVersion::Http11));
}

/// hyper without axum: a service of our own on hyper-util's server, which
/// serves HTTP/1.1 and HTTP/2 (prior knowledge) on one port.
async fn hyper_server() -> SocketAddr {
    async fn handle(
        mut req: hyper::Request<Incoming>,
    ) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
        let upgrade = match rfc6455::hyper::Upgrade::new(&mut req) {
            Ok(upgrade) => upgrade,
            Err(e) => return Ok(e.to_http()),
        };
        let path_ok = upgrade.request().path() == "/echo";
        if !path_ok {
            return Ok(Refusal::new(404).body("no such path").to_http());
        }
        match upgrade.accept(&AcceptOptions::default(), deflate()) {
            Ok((response, pending)) => {
                tokio::spawn(async move {
                    if let Ok(ws) = pending.await {
                        echo(ws).await;
                    }
                });
                Ok(response)
            }
            Err(e) => Ok(HandshakeError::from(e).to_http()),
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http2().enable_connect_protocol();
                let _ = builder
                    .serve_connection_with_upgrades(
                        TokioIo::new(tcp),
                        hyper::service::service_fn(handle),
                    )
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn hyper_over_both_http_versions() {
    let addr = hyper_server().await;
    timeout(LIMIT, async {
        let url = format!("ws://{addr}/echo");
        let (mut ws, response) =
            rfc6455::tokio::connect_with(ClientRequest::new(&url).unwrap(), deflate())
                .await
                .unwrap();
        assert_eq!(response.status(), 101);
        exercise(&mut ws).await;
        let (mut ws, response) =
            rfc6455::tokio::h2::connect_with(ClientRequest::new(&url).unwrap(), deflate())
                .await
                .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.agreed_extensions().deflate().is_some());
        exercise(&mut ws).await;
        // Refusals reach the HTTP/2 client typed, with the status.
        let missing = ClientRequest::new(&format!("ws://{addr}/missing")).unwrap();
        match rfc6455::tokio::h2::connect_with(missing, Config::default()).await {
            Err(StreamError::Handshake(e)) if matches!(*e, HandshakeError::Rejected(_)) => {
                let HandshakeError::Rejected(r) = *e else {
                    unreachable!()
                };
                assert_eq!((r.status, &r.body[..]), (404, &b"no such path"[..]))
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn h2_client_refuses_a_server_without_extended_connect() {
    // hyper's HTTP/2 server without enable_connect_protocol.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(|_req: hyper::Request<Incoming>| async {
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"no"))))
        });
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(tcp), service)
            .await;
    });
    let url = format!("ws://{addr}/ws");
    let result = timeout(
        LIMIT,
        rfc6455::tokio::h2::connect_with(ClientRequest::new(&url).unwrap(), Config::default()),
    )
    .await
    .unwrap();
    assert!(matches!(
        result,
        Err(StreamError::Handshake(e))
            if *e == HandshakeError::Response(ResponseError::ExtendedConnectDisabled)
    ));
}

#[tokio::test]
async fn h2_client_checks_negotiation_against_its_offer() {
    // An offer the config cannot run never leaves the client.
    let request = ClientRequest::new("ws://127.0.0.1:9/ws")
        .unwrap()
        .extensions("permessage-deflate")
        .unwrap();
    assert!(matches!(
        rfc6455::tokio::h2::connect_with(request, Config::default()).await,
        Err(StreamError::Handshake(e))
            if matches!(*e, HandshakeError::Build(BuildError::ExtensionNotEnabled { .. }))
    ));
}
