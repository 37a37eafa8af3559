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
//!
//! The server runs in a child process (this test binary again), so each
//! side needs one descriptor per connection; the test raises its soft
//! RLIMIT_NOFILE to what it needs. It reports the server's peak RSS growth
//! per connection.
#![cfg(feature = "tokio")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
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

const TEST_NAME: &str = "every_message_echoed_once_in_order_and_every_close_clean";

/// Raises RLIMIT_NOFILE (soft, up to the hard limit) to fit `conns`
/// connections in this process.
fn raise_nofile(conns: usize) {
    let wanted = (conns + 256) as u64;
    let limit = rlimit::increase_nofile_limit(wanted).expect("raise RLIMIT_NOFILE");
    assert!(
        limit >= wanted,
        "RLIMIT_NOFILE is {limit}, {wanted} needed for {conns} connections: raise the hard limit \
         (`ulimit -n {wanted}` as root) or lower SOAK_CONNS"
    );
}

#[test]
fn every_message_echoed_once_in_order_and_every_close_clean() {
    if std::env::var_os("SOAK_SERVER").is_some() {
        return serve_until_stdin_closes();
    }
    let conns = env_or("SOAK_CONNS", 1_000);
    raise_nofile(conns);
    // The server is this same test binary in a child process: its own
    // descriptor limit, and its own RSS to measure.
    let mut server = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env("SOAK_SERVER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the soak server");
    let mut server_out = BufReader::new(server.stdout.take().unwrap());
    let port = read_tagged(&mut server_out, "soak-server-port") as u16;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let report = runtime.block_on(async move {
        tokio::time::timeout(Duration::from_secs(600), soak(conns, port))
            .await
            .expect("soak run finished within 10 minutes")
    });
    let took = started.elapsed();
    drop(server.stdin.take()); // tells the server to report and exit
    let server_clean = read_tagged(&mut server_out, "soak-server-clean") as usize;
    let server_kib = read_tagged(&mut server_out, "soak-server-peak-growth-kib") as f64;
    assert!(server.wait().unwrap().success());
    let per_conn = server_kib / conns as f64;
    println!(
        "soak: {conns} connections x {MESSAGES_PER_CONN} messages in {:.1} s; \
         server peak RSS growth {per_conn:.1} KiB per connection",
        took.as_secs_f64(),
    );
    assert_eq!(report.messages, conns * MESSAGES_PER_CONN as usize);
    assert_eq!(report.clean_closes, conns, "clean closes seen by clients");
    assert_eq!(server_clean, conns, "clean closes seen by the server");
    // Messages of up to 70 KB are in flight on every connection at once:
    // a few hundred KiB each would mean buffers that never shrink.
    assert!(per_conn < 256.0, "{per_conn:.1} KiB per connection");
}

/// The next `TAG VALUE` line of the server's output.
fn read_tagged(out: &mut impl BufRead, tag: &str) -> u64 {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "server exited before {tag}"
        );
        // libtest may print its own "test NAME ... " before ours.
        if let Some(at) = line.find(tag) {
            return line[at + tag.len()..].trim().parse().unwrap();
        }
    }
}

/// The child: an echo server that reports its port, then, once its stdin
/// closes, how many connections closed cleanly and its peak RSS growth.
fn serve_until_stdin_closes() {
    raise_nofile(env_or("SOAK_CONNS", 1_000));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (rss_before, _) = rss_kib();
    let server_clean = Arc::new(AtomicUsize::new(0));
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    println!("soak-server-port {}", listener.local_addr().unwrap().port());
    let counter = server_clean.clone();
    runtime.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                if echo(tcp).await.is_ok() {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let stdin_closed = runtime.spawn_blocking(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    });
    runtime.block_on(stdin_closed).unwrap();
    // A server task counts its connection just after writing the close
    // reply the client waited for: give the last ones a moment.
    let conns = env_or("SOAK_CONNS", 1_000);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server_clean.load(Ordering::Relaxed) < conns && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_, peak) = rss_kib();
    println!("soak-server-clean {}", server_clean.load(Ordering::Relaxed));
    println!(
        "soak-server-peak-growth-kib {}",
        peak.saturating_sub(rss_before)
    );
}

#[derive(Default)]
struct ClientReport {
    messages: usize,
    clean_closes: usize,
}

async fn soak(conns: usize, port: u16) -> ClientReport {
    // Everyone connects first (at most 256 handshakes at a time, kind to
    // the listen backlog), then all send at once.
    let handshakes = Arc::new(Semaphore::new(256));
    let all_open = Arc::new(Barrier::new(conns));
    let clients: Vec<_> = (0..conns as u32)
        .map(|conn| {
            let (handshakes, all_open) = (handshakes.clone(), all_open.clone());
            tokio::spawn(async move {
                let permit = handshakes.acquire_owned().await.unwrap();
                let url = format!("ws://127.0.0.1:{port}/");
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
    report
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
