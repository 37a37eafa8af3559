//! What an upgrade request is, before any frame: a body announced on the
//! upgrade is refused rather than read as frames (RFC 9112 §6.3, RFC 9110
//! §7.8: a request-smuggling shape), and an absolute-form target reaches the
//! application as a path and an authority (RFC 9112 §3.2.2, §3.3). Both
//! adapters, over real TCP on 127.0.0.1.
#![cfg(feature = "tokio")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use common::client_frame;
use rfc6455::handshake::AcceptOptions;
use rfc6455::StreamError;

/// Which adapter serves.
#[derive(Clone, Copy, Debug)]
enum Adapter {
    Blocking,
    Tokio,
}

const ADAPTERS: [Adapter; 2] = [Adapter::Blocking, Adapter::Tokio];

/// What the server saw: the request's path and host, or how it failed.
type Seen = Result<(String, String), String>;

/// Serves one connection with an echo, reporting what the accept hook saw.
fn serve_one(adapter: Adapter) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let seen = tx.clone();
        let hook = move |r: &rfc6455::handshake::Request| {
            let _ = seen.send(Ok((r.path().to_owned(), r.host().to_owned())));
            Ok(AcceptOptions::default())
        };
        match adapter {
            Adapter::Blocking => {
                match rfc6455::blocking::accept_with(tcp, Default::default(), hook) {
                    Ok(mut ws) => {
                        while let Ok(Some(m)) = ws.recv_message() {
                            if ws.send(m).is_err() {
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(describe(e)));
                    }
                }
            }
            Adapter::Tokio => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    tcp.set_nonblocking(true).unwrap();
                    let tcp = tokio::net::TcpStream::from_std(tcp).unwrap();
                    match rfc6455::tokio::accept_with(tcp, Default::default(), hook).await {
                        Ok(mut ws) => {
                            while let Ok(Some(m)) = ws.recv_message().await {
                                if ws.send(m).await.is_err() {
                                    break;
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(describe(e)));
                        }
                    }
                });
            }
        }
    });
    (addr, rx)
}

fn describe(e: StreamError) -> String {
    match e {
        StreamError::Handshake(e) => format!("{e:?}"),
        other => format!("{other}"),
    }
}

fn request(target: &str, host: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// Sends `bytes`, then reads until the server closes, the answer ends with
/// `until`, or 2 s pass.
fn exchange_until(addr: &str, bytes: &[u8], until: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    tcp.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = tcp.read(&mut chunk) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
        if answer.ends_with(until) {
            break;
        }
    }
    answer
}

/// [`exchange_until`] the end of a head (a refusal ends with its body and
/// the server's close instead).
fn exchange(addr: &str, bytes: &[u8]) -> Vec<u8> {
    exchange_until(addr, bytes, b"\r\n\r\n")
}

#[test]
fn a_body_on_the_upgrade_is_refused_not_read_as_frames() {
    for adapter in ADAPTERS {
        let (addr, seen) = serve_one(adapter);
        // The 14 bytes of body are a complete masked text frame `smuggled`.
        let smuggled = client_frame(0x1, true, b"smuggled");
        assert_eq!(smuggled.len(), 14);
        let mut input = request("/", &addr, "Content-Length: 14\r\n");
        input.extend_from_slice(&smuggled);
        input.extend_from_slice(&client_frame(0x1, true, b"real"));
        let answer = String::from_utf8_lossy(&exchange_until(&addr, &input, b"real")).into_owned();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{adapter:?}: {answer}"
        );
        assert!(
            !answer.contains("smuggled") && !answer.contains("real"),
            "{adapter:?}: {answer}"
        );
        assert_eq!(
            seen.recv().unwrap(),
            Err("Request(HasBody)".into()),
            "{adapter:?}"
        );

        for extra in ["Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"] {
            let (addr, seen) = serve_one(adapter);
            let answer = exchange(&addr, &request("/", &addr, extra));
            assert!(
                answer.starts_with(b"HTTP/1.1 400 "),
                "{adapter:?} {extra:?}"
            );
            assert_eq!(seen.recv().unwrap(), Err("Request(HasBody)".into()));
        }

        // An explicit empty body still upgrades, and frames flow.
        let (addr, seen) = serve_one(adapter);
        let mut input = request("/", &addr, "Content-Length: 0\r\n");
        input.extend_from_slice(&client_frame(0x1, true, b"real"));
        let answer = exchange_until(&addr, &input, b"real");
        assert!(answer.starts_with(b"HTTP/1.1 101 "), "{adapter:?}");
        assert!(answer.ends_with(b"\x81\x04real"), "{adapter:?}");
        assert!(seen.recv().unwrap().is_ok());
    }
}

#[test]
fn absolute_form_targets_reach_the_application_as_path_and_authority() {
    for adapter in ADAPTERS {
        let (addr, seen) = serve_one(adapter);
        let target = format!("http://{addr}/ws");
        let answer = exchange(&addr, &request(&target, &addr, ""));
        assert!(answer.starts_with(b"HTTP/1.1 101 "), "{adapter:?}");
        assert_eq!(seen.recv().unwrap(), Ok(("/ws".to_owned(), addr.clone())));

        // The target's authority overrides Host (RFC 9112 §3.3).
        let (addr, seen) = serve_one(adapter);
        let answer = exchange(
            &addr,
            &request("http://example.test:8080/chat?room=1", "other.test", ""),
        );
        assert!(answer.starts_with(b"HTTP/1.1 101 "), "{adapter:?}");
        assert_eq!(
            seen.recv().unwrap(),
            Ok(("/chat?room=1".to_owned(), "example.test:8080".to_owned()))
        );

        for target in ["*", "example.test:8080"] {
            let (addr, seen) = serve_one(adapter);
            let answer = exchange(&addr, &request(target, &addr, ""));
            assert!(answer.starts_with(b"HTTP/1.1 400 "), "{adapter:?} {target}");
            assert!(seen
                .recv()
                .unwrap()
                .unwrap_err()
                .starts_with("Request(InvalidTarget"));
        }
    }
}

/// A refusal from the accept hook is written under the handshake deadline
/// (plus the refusal grace) in both adapters: a client that sends its
/// request and then never reads cannot hold the server.
#[test]
fn a_refusal_to_a_client_that_never_reads_is_bounded() {
    use rfc6455::handshake::{Refusal, REFUSAL_GRACE};
    use rfc6455::Config;
    use std::time::Instant;

    let timeout = Duration::from_millis(800);
    for adapter in ADAPTERS {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let config = Config::default().handshake_timeout(timeout);
            // Far more than the socket buffers hold.
            let hook =
                |_: &rfc6455::handshake::Request| Err(Refusal::new(403).body(vec![b'x'; 64 << 20]));
            let started = Instant::now();
            let result = match adapter {
                Adapter::Blocking => rfc6455::blocking::accept_with(tcp, config, hook).map(|_| ()),
                Adapter::Tokio => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async move {
                        tcp.set_nonblocking(true).unwrap();
                        let tcp = tokio::net::TcpStream::from_std(tcp).unwrap();
                        rfc6455::tokio::accept_with(tcp, config, hook)
                            .await
                            .map(|_| ())
                    }),
            };
            (started.elapsed(), result)
        });
        let mut client = TcpStream::connect(&addr).unwrap();
        client.write_all(&request("/", &addr, "")).unwrap();
        // ... and never read.
        let (took, result) = server.join().unwrap();
        // The decision stands as the error; the write was given up.
        assert!(
            matches!(result, Err(StreamError::Refused { status: 403 })),
            "{adapter:?}: {result:?}"
        );
        assert!(
            took < timeout + REFUSAL_GRACE + Duration::from_millis(500),
            "{adapter:?} took {took:?}"
        );
        drop(client);
    }
}
