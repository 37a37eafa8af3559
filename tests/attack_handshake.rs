//! Attacks on the server handshake over the tokio adapter: every malformed
//! request gets its status, a stalled one gets 408, and none hangs.
#![cfg(feature = "tokio")]

use std::time::{Duration, Instant};

use rfc6455::tokio::accept_with;
use rfc6455::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(5);
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn request(lines: &[&str]) -> Vec<u8> {
    let mut r = lines.join("\r\n");
    r.push_str("\r\n\r\n");
    r.into_bytes()
}

fn good_with(first: &str, extra: &[&str], skip: &str) -> Vec<u8> {
    let mut lines = vec![first.to_owned()];
    for h in [
        "Host: example.com".to_owned(),
        "Upgrade: websocket".to_owned(),
        "Connection: Upgrade".to_owned(),
        format!("Sec-WebSocket-Key: {KEY}"),
        "Sec-WebSocket-Version: 13".to_owned(),
    ] {
        if skip.is_empty()
            || !h
                .to_ascii_lowercase()
                .starts_with(&skip.to_ascii_lowercase())
        {
            lines.push(h);
        }
    }
    lines.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
    request(&refs)
}

/// Sends `bytes` to a fresh server and returns the status it answered (0:
/// none) and how long the server took.
async fn status_for(bytes: Vec<u8>, config: Config, hold_open: bool) -> (u16, String, Duration) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let started = Instant::now();
        let result = accept_with(tcp, config, |_| Ok(Default::default())).await;
        (result.is_ok(), started.elapsed())
    });
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&bytes).await.unwrap();
    if !hold_open {
        let _ = tcp.shutdown().await;
    }
    let mut answer = Vec::new();
    let _ = timeout(LIMIT, tcp.read_to_end(&mut answer)).await;
    let (ok, took) = timeout(LIMIT, server).await.expect("accept hung").unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(!ok || status == 101, "accepted a bad request: {text}");
    (status, text, took)
}

/// PASSES: the statuses of malformed requests.
#[tokio::test]
async fn malformed_requests_get_their_status() {
    let long = format!("X-Long: {}", "a".repeat(64 * 1024));
    let many: Vec<String> = (0..200).map(|i| format!("X-{i}: v")).collect();
    let many: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("good", good_with("GET / HTTP/1.1", &[], ""), 101),
        ("POST", good_with("POST / HTTP/1.1", &[], ""), 400),
        ("HTTP/1.0", good_with("GET / HTTP/1.0", &[], ""), 400),
        ("no host", good_with("GET / HTTP/1.1", &[], "Host"), 400),
        (
            "no upgrade",
            good_with("GET / HTTP/1.1", &[], "Upgrade"),
            400,
        ),
        (
            "no key",
            good_with("GET / HTTP/1.1", &[], "Sec-WebSocket-Key"),
            400,
        ),
        (
            "no version",
            good_with("GET / HTTP/1.1", &[], "Sec-WebSocket-Version"),
            400,
        ),
        (
            "version 8",
            good_with(
                "GET / HTTP/1.1",
                &["Sec-WebSocket-Version: 8"],
                "Sec-WebSocket-Version",
            ),
            426,
        ),
        (
            "two keys",
            good_with(
                "GET / HTTP/1.1",
                &["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="],
                "",
            ),
            400,
        ),
        (
            "bad key",
            good_with(
                "GET / HTTP/1.1",
                &["Sec-WebSocket-Key: abc"],
                "Sec-WebSocket-Key",
            ),
            400,
        ),
        (
            "body",
            good_with("GET / HTTP/1.1", &["Content-Length: 5"], ""),
            400,
        ),
        (
            "chunked",
            good_with("GET / HTTP/1.1", &["Transfer-Encoding: chunked"], ""),
            400,
        ),
        ("bad target", good_with("GET foo HTTP/1.1", &[], ""), 400),
        (
            "bad protocol",
            good_with("GET / HTTP/1.1", &["Sec-WebSocket-Protocol: a b"], ""),
            400,
        ),
        (
            "bad extensions",
            good_with("GET / HTTP/1.1", &["Sec-WebSocket-Extensions: ;;"], ""),
            400,
        ),
        (
            "origin non-ascii",
            good_with("GET / HTTP/1.1", &["Origin: http://\u{e9}.com"], ""),
            400,
        ),
        (
            "garbage",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
            400,
        ),
        ("too large", good_with("GET / HTTP/1.1", &[&long], ""), 431),
        ("too many", good_with("GET / HTTP/1.1", &many, ""), 431),
    ];
    let mut wrong = Vec::new();
    for (name, bytes, want) in cases {
        let (got, text, _) = status_for(bytes, Config::default(), true).await;
        if got != want {
            wrong.push(format!(
                "{name}: want {want}, got {got}: {:?}",
                text.lines().next()
            ));
        }
        if want == 426 {
            assert!(text.contains("Sec-WebSocket-Version: 13"), "{text}");
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// PASSES: a request trickled and never finished gets 408 at the handshake
/// timeout; a silent connection too.
#[tokio::test]
async fn a_stalled_request_gets_408_at_the_timeout() {
    let config = Config::default().handshake_timeout(Duration::from_millis(300));
    for partial in [b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec(), Vec::new()] {
        let (status, text, took) = status_for(partial.clone(), config.clone(), true).await;
        assert_eq!(status, 408, "{partial:?}: {text}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}

/// PASSES: a request cut off by the client's FIN: no hang, no 101.
#[tokio::test]
async fn a_request_cut_off_by_fin_does_not_hang() {
    let full = good_with("GET / HTTP/1.1", &[], "");
    for cut in [1, 10, full.len() / 2, full.len() - 2] {
        let (status, text, took) = status_for(full[..cut].to_vec(), Config::default(), false).await;
        assert_ne!(status, 101, "{text}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}
