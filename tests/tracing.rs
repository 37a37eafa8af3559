//! The `tracing` feature: one event when a handshake is refused or a
//! connection fails (with its status or close code), none for a healthy
//! connection. A hand-written subscriber records what the crate emits; a
//! current-thread runtime keeps every task on the thread it is installed
//! on.
#![cfg(all(feature = "tracing", feature = "tokio"))]

mod harness;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rfc6455::handshake::{AcceptOptions, ClientRequest, Refusal};
use rfc6455::tokio::{accept_with, client, WebSocketStream};
use rfc6455::{CloseCode, Config, Event, Role, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};

/// Records every event from this crate, at any level, as
/// `level message field=value ...`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("rfc6455")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = event.metadata().level().to_string();
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Runs `test` on a current-thread runtime with the recorder installed and
/// returns what it recorded.
fn recorded<F: Future<Output = ()>>(test: impl FnOnce() -> F) -> Vec<String> {
    let recorder = Recorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(recorder.clone(), || runtime.block_on(test()));
    let lines = recorder.0.lock().unwrap().clone();
    lines
}

/// A server accepting with `decide` and a client, over memory.
async fn handshake(
    config: Config,
    decide: impl FnOnce(&rfc6455::handshake::Request) -> Result<AcceptOptions, Refusal>,
) -> (
    Result<WebSocketStream<DuplexStream>, StreamError>,
    Result<WebSocketStream<DuplexStream>, StreamError>,
) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let request = ClientRequest::new("ws://test/").unwrap();
    let (server, client) = tokio::join!(
        accept_with(a, config.clone(), decide),
        client(b, &request, config)
    );
    (server, client.map(|(ws, _)| ws))
}

#[test]
fn a_healthy_echo_logs_nothing() {
    let lines = recorded(|| async {
        let (server, client) = handshake(Config::default(), |_| Ok(AcceptOptions::default())).await;
        let (mut server, mut client) = (server.unwrap(), client.unwrap());
        let echo = tokio::spawn(async move {
            while let Some(message) = server.recv_message().await.unwrap() {
                server.send(message).await.unwrap();
            }
        });
        for i in 0..500 {
            client.send(format!("message {i}")).await.unwrap();
            let Some(echoed) = client.recv_message().await.unwrap() else {
                panic!("closed");
            };
            assert_eq!(echoed, rfc6455::Message::from(format!("message {i}")));
            if i % 100 == 0 {
                client.ping("alive?").await.unwrap();
            }
        }
        client.close(CloseCode::NORMAL, "done").await.unwrap();
        while !matches!(client.recv().await, Ok(Event::Close(_)) | Err(_)) {}
        echo.await.unwrap();
    });
    assert_eq!(lines, Vec::<String>::new());
}

#[test]
fn a_refusal_is_logged_on_both_sides_with_its_status() {
    let lines = recorded(|| async {
        let (server, client) = handshake(Config::default(), |_| Err(Refusal::new(403))).await;
        assert!(server.is_err() && client.is_err());
    });
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("DEBUG") && l.contains("status=403")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("the server rejected")),
        "{lines:#?}"
    );
}

#[test]
fn a_handshake_timeout_is_logged_as_408() {
    let lines = recorded(|| async {
        let (a, _b) = tokio::io::duplex(1024); // the client never writes
        let config = Config::default().handshake_timeout(Duration::from_millis(50));
        let server = accept_with(a, config, |_| Ok(AcceptOptions::default())).await;
        assert!(server.is_err());
    });
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("timed out") && lines[0].contains("status=408"),
        "{lines:#?}"
    );
}

#[test]
fn a_protocol_failure_is_logged_with_its_close_code_and_rule() {
    let lines = recorded(|| async {
        let (a, mut b) = tokio::io::duplex(1024);
        let config = Config::default().close_timeout(Duration::from_millis(200));
        let mut server = WebSocketStream::from_raw(a, Role::Server, config, b"");
        b.write_all(b"\x81\x02hi").await.unwrap(); // unmasked, from a client
        assert!(matches!(server.recv().await, Err(StreamError::Protocol(_))));
        // The server lingers for our end, up to its close timeout.
        let mut rest = Vec::new();
        let _ = b.read_to_end(&mut rest).await;
    });
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("close_code=1002"), "{lines:#?}");
    assert!(lines[0].contains("RFC 6455 §5.1"), "{lines:#?}");
}

/// Behind axum served with connect info, refusals name the client's address.
#[cfg(feature = "axum")]
#[test]
fn axum_refusals_name_the_peer() {
    use std::net::SocketAddr;

    use axum::routing::any;
    use rfc6455::axum::WebSocketUpgrade;

    let mut peers = Vec::new();
    let lines = recorded(|| async {
        let app = axum::Router::new().route(
            "/ws",
            any(|upgrade: WebSocketUpgrade| async move { upgrade.refuse(Refusal::new(401)) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
        let request = ClientRequest::new(&format!("ws://{addr}/ws"))
            .unwrap()
            .encode();
        let no_key = String::from_utf8(request.clone())
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("Sec-WebSocket-Key"))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>();
        for (bytes, status) in [(request, "401"), (no_key.into_bytes(), "400")] {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            peers.push(tcp.local_addr().unwrap());
            tcp.write_all(&bytes).await.unwrap();
            let mut answer = [0; 12];
            tcp.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer[9..], *status.as_bytes());
        }
    });
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for (line, (peer, status)) in lines.iter().zip(peers.iter().zip(["401", "400"])) {
        assert!(line.contains(&format!("peer={peer}")), "{line}");
        assert!(line.contains(&format!("status={status}")), "{line}");
    }
}

#[test]
fn a_hub_eviction_is_logged_once_as_a_warning() {
    use rfc6455::hub::{Hub, HubConfig};

    let lines = recorded(|| async {
        let hub = Hub::new(HubConfig::default().max_queue_messages(10));
        let config = Config::default().send_high_water(0);
        let (slow, mut slow_client, task) = harness::member(&hub, config, 256);
        slow.subscribe("feed");
        let mut sent = 0;
        while !slow.is_evicted() {
            hub.publish("feed", format!("{sent:0>200}"));
            sent += 1;
            tokio::task::yield_now().await;
            assert!(sent < 100, "never evicted");
        }
        // Read the backlog up to the 1008, and let the server finish.
        while !matches!(slow_client.recv().await, Ok(Event::Close(_)) | Err(_)) {}
        assert!(task.await.unwrap().is_ok());
    });
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("WARN") && lines[0].contains("close_code=1008"),
        "{lines:#?}"
    );
}
