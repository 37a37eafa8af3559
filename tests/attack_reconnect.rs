//! Attacks on the reconnecting client (src/tokio/reconnect/): hostile or
//! broken servers on 127.0.0.1. Every wait is bounded.
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rfc6455::tokio::reconnect::{Backoff, LinkState, ReconnectError, ReconnectingClient};
use rfc6455::{CloseCode, Config, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

mod loopback;
use loopback::listener;

const LIMIT: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Fails unless less than `bound` passed since `started`.
fn finished_within(started: Instant, bound: Duration) {
    let took = started.elapsed();
    assert!(took < bound, "took {took:?}, more than {bound:?}");
}

fn fast() -> Backoff {
    Backoff {
        initial: ms(20),
        max: ms(200),
        multiplier: 2.0,
        jitter: 0.0,
    }
}

/// Reads an HTTP request head and answers 101 by hand; the raw socket then
/// belongs to the caller.
async fn raw_accept(tcp: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 1024];
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let key = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .unwrap();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        rfc6455::handshake::accept_key(key.as_bytes())
    );
    tcp.write_all(answer.as_bytes()).await.is_ok()
}

/// A server that, on each connection, sends a text "n" (its connection
/// number) and then the raw `close` bytes, and holds TCP until the client
/// ends it.
async fn raw_closing_server(close: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let (listener, url) = listener().await;
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            let close = close.clone();
            tokio::spawn(async move {
                if !raw_accept(&mut tcp).await {
                    return;
                }
                let text = n.to_string();
                let mut frame = vec![0x81, text.len() as u8];
                frame.extend_from_slice(text.as_bytes());
                frame.extend_from_slice(&close);
                let _ = tcp.write_all(&frame).await;
                let mut sink = Vec::new();
                let _ = timeout(Duration::from_secs(10), tcp.read_to_end(&mut sink)).await;
            });
        }
    });
    (url, count)
}

fn close_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x88, payload.len() as u8];
    f.extend_from_slice(payload);
    f
}

/// PASSES: for odd but valid codes (1011, 1013, 4000, 4999) the client
/// reports the server's Close, then reconnects and gets the next
/// connection's first message; no message lost or repeated.
#[tokio::test]
async fn odd_valid_close_codes_are_reported_then_reconnected() {
    for code in [1011u16, 1013, 4000, 4999] {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"odd");
        let (url, _count) = raw_closing_server(close_frame(&payload)).await;
        let mut client = ReconnectingClient::builder(&url)
            .unwrap()
            .backoff(fast())
            .config(Config::default().close_timeout(ms(300)))
            .build();
        let mut texts = Vec::new();
        let started = Instant::now();
        while texts.len() < 3 {
            match timeout(LIMIT, client.recv()).await.unwrap() {
                Ok(Event::Text(t)) => texts.push(t.to_string()),
                Ok(Event::Close(Some(frame))) => assert_eq!(frame.code, CloseCode(code)),
                Ok(other) => panic!("code {code}: {other:?}"),
                Err(e) => panic!("code {code}: {e:?}"),
            }
        }
        assert_eq!(texts, ["1", "2", "3"], "code {code}");
        assert!(started.elapsed() < LIMIT, "code {code}");
        timeout(LIMIT, client.close(CloseCode::NORMAL, ""))
            .await
            .unwrap()
            .unwrap();
    }
}

/// PASSES: close frames the protocol forbids (a 1-byte payload, codes 999,
/// 1005, 1006, 1015, 2999, invalid UTF-8 in the reason) end that connection
/// with a protocol error; the client goes on with the next one, no panic.
#[tokio::test]
async fn invalid_close_frames_from_the_server_are_survived() {
    let mut cases: Vec<Vec<u8>> = vec![vec![0x03]];
    for code in [999u16, 1005, 1006, 1015, 2999, 5000, 65535] {
        cases.push(code.to_be_bytes().to_vec());
    }
    cases.push([&1000u16.to_be_bytes()[..], &[0xff, 0xfe]].concat());
    for payload in cases {
        let (url, count) = raw_closing_server(close_frame(&payload)).await;
        let mut client = ReconnectingClient::builder(&url)
            .unwrap()
            .backoff(fast())
            .config(Config::default().close_timeout(ms(300)))
            .build();
        let mut texts = Vec::new();
        while texts.len() < 2 {
            match timeout(LIMIT, client.recv()).await {
                Ok(Ok(Event::Text(t))) => texts.push(t.to_string()),
                Ok(Ok(other)) => panic!("{payload:?}: {other:?}"),
                Ok(Err(e)) => panic!("{payload:?}: {e:?}"),
                Err(_) => panic!(
                    "{payload:?}: no reconnection in {LIMIT:?} ({} connections)",
                    count.load(Ordering::SeqCst)
                ),
            }
        }
        assert_eq!(texts, ["1", "2"], "{payload:?}");
        timeout(LIMIT, client.close(CloseCode::NORMAL, ""))
            .await
            .unwrap()
            .unwrap();
    }
}

/// A server that answers every upgrade with `status`.
async fn refusing_server(status: &'static str) -> (String, Arc<AtomicUsize>) {
    let (listener, url) = listener().await;
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let body = "no";
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, count)
}

/// PASSES: 4xx and 5xx answers are failed attempts: the client gives up
/// after max_attempts with the rejection as the last error.
#[tokio::test]
async fn refusals_give_up_after_max_attempts() {
    for status in [
        "503 Service Unavailable",
        "404 Not Found",
        "400 Bad Request",
        "429 Too Many Requests",
    ] {
        let (url, count) = refusing_server(status).await;
        let mut client = ReconnectingClient::builder(&url)
            .unwrap()
            .backoff(fast())
            .max_attempts(3)
            .build();
        let started = Instant::now();
        let result = timeout(LIMIT, client.recv()).await.unwrap();
        assert!(
            matches!(result, Err(ReconnectError::GaveUp { attempts: 3, .. })),
            "{status}: {result:?}"
        );
        assert_eq!(count.load(Ordering::SeqCst), 3, "{status}");
        assert!(started.elapsed() < Duration::from_secs(2));
        // After giving up: closed, and stays so.
        assert!(matches!(
            timeout(LIMIT, client.recv()).await.unwrap(),
            Err(ReconnectError::Closed)
        ));
        timeout(LIMIT, client.close(CloseCode::NORMAL, ""))
            .await
            .unwrap()
            .unwrap();
    }
}

/// A server that accepts TCP and never answers the handshake: close() must
/// return at once, not after the connect timeout.
#[tokio::test]
async fn close_during_a_handshake_that_never_ends_is_prompt() {
    let (listener, url) = listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            held.push(tcp);
        }
    });
    let client = ReconnectingClient::builder(&url)
        .unwrap()
        .connect_timeout(Duration::from_secs(30))
        .build();
    let (mut reader, mut writer) = client.split();
    let reading = tokio::spawn(async move { timeout(LIMIT, reader.recv()).await });
    tokio::time::sleep(ms(200)).await;
    let started = Instant::now();
    timeout(LIMIT, writer.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    let result = reading.await.unwrap();
    assert!(
        matches!(result, Ok(Err(ReconnectError::Closed))),
        "{result:?}"
    );
    finished_within(started, Duration::from_secs(1));

    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .connect_timeout(Duration::from_secs(30))
        .build();
    let _ = timeout(ms(200), client.recv()).await; // the attempt is under way
    let started = Instant::now();
    timeout(LIMIT, client.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    finished_within(started, Duration::from_secs(1));
}

/// A server that completes the handshake and then never reads nor
/// answers: close() must return within the close timeout (plus a margin),
/// even with a send queue the server never drained.
#[tokio::test]
async fn close_to_a_server_that_stopped_reading_is_bounded() {
    let (listener, url) = listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            if raw_accept(&mut tcp).await {
                held.push(tcp); // never read again
            }
        }
    });
    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .config(Config::default().close_timeout(ms(300)))
        .connect()
        .await
        .unwrap();
    let chunk = vec![0u8; 256 * 1024];
    // Fill the socket buffers until a send blocks.
    for _ in 0..200 {
        if timeout(ms(100), client.send(chunk.clone())).await.is_err() {
            break;
        }
    }
    let started = Instant::now();
    let closed = timeout(LIMIT, client.close(CloseCode::NORMAL, "")).await;
    assert!(closed.is_ok(), "close() did not finish in {LIMIT:?}");
    finished_within(started, Duration::from_secs(2));
    assert_eq!(client.state(), LinkState::Closed);
}

/// A server that never answers our Close but keeps sending messages: the
/// unsplit client's close() reads until the Close, so it must still be
/// bounded by the close timeout.
#[tokio::test]
async fn close_to_a_server_that_chatters_and_never_closes_is_bounded() {
    let (listener, url) = listener().await;
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                if !raw_accept(&mut tcp).await {
                    return;
                }
                let (mut rd, mut wr) = tcp.into_split();
                tokio::spawn(async move {
                    let mut sink = vec![0u8; 4096];
                    while let Ok(n) = rd.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                });
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(10) {
                    if wr.write_all(&[0x81, 0x02, b'h', b'i']).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(ms(5)).await;
                }
            });
        }
    });
    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .config(Config::default().close_timeout(ms(300)))
        .connect()
        .await
        .unwrap();
    let started = Instant::now();
    let closed = timeout(LIMIT, client.close(CloseCode::NORMAL, "")).await;
    assert!(closed.is_ok(), "close() did not finish in {LIMIT:?}");
    finished_within(started, Duration::from_secs(2));
}

/// A server that accepts TCP and drops it at once, for ever: the client
/// must back off (not spin) and give up after max_attempts.
#[tokio::test]
async fn accept_then_vanish_backs_off_and_gives_up() {
    let (listener, url) = listener().await;
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            seen.fetch_add(1, Ordering::SeqCst);
            drop(tcp);
        }
    });
    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .backoff(fast())
        .max_attempts(5)
        .build();
    let started = Instant::now();
    let result = timeout(LIMIT, client.recv()).await.unwrap();
    assert!(
        matches!(result, Err(ReconnectError::GaveUp { attempts: 5, .. })),
        "{result:?}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 5);
    // 20 + 40 + 80 + 160 ms of waits at least.
    assert!(started.elapsed() >= ms(290), "{:?}", started.elapsed());
}

/// A server that completes the handshake, then neither reads nor writes
/// (a stuck peer holding TCP open). The client's keepalive notices; the
/// reader moves on. A send blocked on the stuck connection's full socket
/// must not stay blocked for ever once that connection is given up.
#[tokio::test]
async fn a_send_blocked_on_a_stuck_connection_ends_when_the_reader_gives_it_up() {
    let (listener, url) = listener().await;
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            seen.fetch_add(1, Ordering::SeqCst);
            if raw_accept(&mut tcp).await {
                held.push(tcp); // stuck: never reads, never writes
            }
        }
    });
    let config = Config::default()
        .keepalive(ms(200), ms(200))
        .close_timeout(ms(300));
    let client = ReconnectingClient::builder(&url)
        .unwrap()
        .config(config)
        .backoff(fast())
        .connect()
        .await
        .unwrap();
    let (mut reader, mut writer) = client.split();
    let reading = tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(4) {
            let _ = timeout(ms(500), reader.recv()).await;
        }
        reader
    });
    let chunk = vec![0u8; 256 * 1024];
    let mut blocked = None;
    for _ in 0..200 {
        let started = Instant::now();
        match timeout(Duration::from_secs(4), writer.send(chunk.clone())).await {
            Ok(Ok(())) => continue,
            Ok(Err(_)) => {
                blocked = Some(started.elapsed());
                break;
            }
            Err(_) => panic!(
                "a send stayed blocked 4 s on a connection the reader gave up \
                 ({} connections made meanwhile)",
                connections.load(Ordering::SeqCst)
            ),
        }
    }
    assert!(blocked.is_some(), "the sends never ended");
    let _reader = reading.await.unwrap();
    assert!(
        connections.load(Ordering::SeqCst) >= 2,
        "the reader never reconnected"
    );
}

/// A flapping server: each connection sends ten texts and ends at once
/// (alternately a Close 1001 in the same write, and a bare FIN). Every text
/// of every connection arrives once, in order: none lost to the end that
/// follows it in the same read, none repeated.
#[tokio::test]
async fn a_flapping_server_loses_and_repeats_nothing() {
    let (listener, url) = listener().await;
    tokio::spawn(async move {
        let mut n = 0u32;
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            n += 1;
            let this = n;
            tokio::spawn(async move {
                if !raw_accept(&mut tcp).await {
                    return;
                }
                let mut bytes = Vec::new();
                for i in 0..10 {
                    let t = format!("{this}-{i}");
                    bytes.extend_from_slice(&[0x81, t.len() as u8]);
                    bytes.extend_from_slice(t.as_bytes());
                }
                if this % 2 == 1 {
                    bytes.extend_from_slice(&[0x88, 0x02, 0x03, 0xe9]); // 1001
                }
                let _ = tcp.write_all(&bytes).await;
                if this % 2 == 1 {
                    let mut sink = Vec::new();
                    let _ = timeout(ms(500), tcp.read_to_end(&mut sink)).await;
                }
                // dropped: FIN
            });
        }
    });
    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .backoff(Backoff {
            initial: ms(5),
            max: ms(20),
            multiplier: 2.0,
            jitter: 0.0,
        })
        .healthy_after(Duration::ZERO)
        .config(Config::default().close_timeout(ms(300)))
        .build();
    let mut texts = Vec::new();
    while texts.len() < 60 {
        match timeout(LIMIT, client.recv()).await.expect("hung") {
            Ok(Event::Text(t)) => texts.push(t.to_string()),
            Ok(_) => {}
            Err(e) => panic!("{e:?} after {texts:?}"),
        }
    }
    let expected: Vec<String> = (1..=6)
        .flat_map(|c| (0..10).map(move |i| format!("{c}-{i}")))
        .collect();
    assert_eq!(texts, expected);
    timeout(LIMIT, client.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
}
