//! Soak: many concurrent connections on loopback, each pipelining numbered
//! messages of mixed sizes and kinds through our tokio echo server. Every
//! message must come back exactly once, in order, byte for byte, and every
//! connection must end with a clean closing handshake on both sides.
//!
//! The CI variant opens 1,000 connections. The full run:
//!
//! ```text
//! SOAK_CONNS=10000 cargo test --release --all-features --test soak -- --nocapture
//! ```
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rfc6455::{CloseCode, Event, Message, StreamError};
use tokio::net::TcpListener;
use tokio::sync::{Barrier, Semaphore};

/// Sizes cycled through by each connection's messages.
const SIZES: [usize; 6] = [0, 16, 300, 2_000, 20_000, 70_000];
const MESSAGES_PER_CONN: u32 = 12;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Message `seq` of connection `conn`: its size, kind and every byte are
/// functions of the two numbers, so the reader can check it alone.
fn message(conn: u32, seq: u32) -> Message {
    let size = SIZES[(conn as usize + seq as usize) % SIZES.len()].max(8);
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(&conn.to_be_bytes());
    body.extend_from_slice(&seq.to_be_bytes());
    if seq % 2 == 0 {
        // Text: the numbers spelled in hex, then letters.
        body.clear();
        body.extend_from_slice(format!("{conn:08x}{seq:08x}").as_bytes());
        body.extend((body.len()..size).map(|i| b'a' + ((i as u32 + conn + seq) % 26) as u8));
        Message::Text(String::from_utf8(body).unwrap().into())
    } else {
        body.extend((8..size).map(|i| (i as u32).wrapping_mul(31).wrapping_add(conn ^ seq) as u8));
        Message::Binary(Bytes::from(body))
    }
}

/// The process's resident set and its peak, in KiB.
fn rss_kib() -> (usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn every_message_echoed_once_in_order_and_every_close_clean() {
    let conns = env_or("SOAK_CONNS", 1_000);
    // Both ends of every connection live in this process.
    let wanted = (2 * conns + 256) as u64;
    let limit = rlimit::increase_nofile_limit(wanted).expect("raise RLIMIT_NOFILE");
    assert!(
        limit >= wanted,
        "RLIMIT_NOFILE is {limit}, {wanted} needed for {conns} connections"
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (rss_before, _) = rss_kib();
    let started = Instant::now();
    let (server_clean, client_report) = runtime.block_on(async move {
        tokio::time::timeout(Duration::from_secs(600), soak(conns))
            .await
            .expect("soak run finished within 10 minutes")
    });
    let (_, peak) = rss_kib();
    let per_conn = (peak.saturating_sub(rss_before) as f64) / conns as f64;
    println!(
        "soak: {conns} connections x {MESSAGES_PER_CONN} messages in {:.1} s; \
         peak RSS {:.1} KiB per connection (client and server ends together)",
        started.elapsed().as_secs_f64(),
        per_conn
    );
    assert_eq!(client_report.messages, conns * MESSAGES_PER_CONN as usize);
    assert_eq!(
        client_report.clean_closes, conns,
        "clean closes seen by clients"
    );
    assert_eq!(server_clean, conns, "clean closes seen by the server");
    // Both ends of a connection, with messages of up to 70 KB in flight:
    // anything near a megabyte each would mean a buffer that never shrinks.
    assert!(per_conn < 1024.0, "{per_conn:.1} KiB per connection");
}

#[derive(Default)]
struct ClientReport {
    messages: usize,
    clean_closes: usize,
}

async fn soak(conns: usize) -> (usize, ClientReport) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_clean = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn({
        let server_clean = server_clean.clone();
        async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let server_clean = server_clean.clone();
                tokio::spawn(async move {
                    if echo(tcp).await.is_ok() {
                        server_clean.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        }
    });

    // Everyone connects first (at most 256 handshakes at a time, kind to
    // the listen backlog), then all send at once.
    let handshakes = Arc::new(Semaphore::new(256));
    let all_open = Arc::new(Barrier::new(conns));
    let clients: Vec<_> = (0..conns as u32)
        .map(|conn| {
            let (handshakes, all_open) = (handshakes.clone(), all_open.clone());
            tokio::spawn(async move {
                let permit = handshakes.acquire_owned().await.unwrap();
                let url = format!("ws://{addr}/");
                let (ws, _) = rfc6455::tokio::connect(&url).await.expect("connect");
                drop(permit);
                all_open.wait().await;
                client(conn, ws).await
            })
        })
        .collect();
    let mut report = ClientReport::default();
    for client in clients {
        let (messages, clean) = client.await.expect("client task");
        report.messages += messages;
        report.clean_closes += usize::from(clean);
    }
    // The server counts a connection once its handshake is finished.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server_clean.load(Ordering::Relaxed) < conns && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.abort();
    (server_clean.load(Ordering::Relaxed), report)
}

/// The server side: echo until the peer closes; `Ok` only for a clean
/// closing handshake.
async fn echo(tcp: tokio::net::TcpStream) -> Result<(), StreamError> {
    let mut ws = rfc6455::tokio::accept(tcp).await?;
    loop {
        match ws.recv().await? {
            Event::Text(text) => ws.send(Message::Text(text)).await?,
            Event::Binary(bytes) => ws.send(Message::Binary(bytes)).await?,
            Event::Close(Some(frame)) if frame.code == CloseCode::NORMAL => return Ok(()),
            Event::Close(other) => panic!("server: unclean close {other:?}"),
            _ => {}
        }
    }
}

/// One client: pipelines all its messages from a writer half while the
/// reader half checks the echoes, then closes. Returns the messages
/// verified and whether the close was clean.
async fn client(
    conn: u32,
    ws: rfc6455::tokio::WebSocketStream<rfc6455::tokio::MaybeTlsStream>,
) -> (usize, bool) {
    let (mut reader, mut writer) = ws.split();
    let sender = tokio::spawn(async move {
        for seq in 0..MESSAGES_PER_CONN {
            writer.feed(message(conn, seq)).await.expect("send");
        }
        writer.flush().await.expect("flush");
        writer
    });
    let mut verified = 0;
    for seq in 0..MESSAGES_PER_CONN {
        let got = reader.recv_message().await.expect("echo").expect("open");
        assert_eq!(got, message(conn, seq), "connection {conn}, message {seq}");
        verified += 1;
    }
    let mut writer = sender.await.expect("writer task");
    writer
        .close(CloseCode::NORMAL, "done")
        .await
        .expect("close");
    let clean = match reader.recv().await {
        Ok(Event::Close(Some(frame))) => frame.code == CloseCode::NORMAL,
        other => panic!("connection {conn}: expected the close echo, got {other:?}"),
    };
    (verified, clean)
}
