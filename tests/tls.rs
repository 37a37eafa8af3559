//! wss:// over rustls on 127.0.0.1, for both adapters: our client and our
//! server with a self-signed certificate made at test time; clients that do
//! not trust it, TLS against plain servers, the default config.
#![cfg(feature = "tls")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rfc6455::blocking::{self, Transport};
use rfc6455::handshake::ClientRequest;
use rfc6455::tls::rustls;
use rfc6455::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rfc6455::{CloseCode, CloseFrame, Config, Event, StreamError, TlsError};

/// Every test ends within this, or fails.
const LIMIT: Duration = Duration::from_secs(20);

/// A certificate for 127.0.0.1, a server config with it, and a client
/// config that trusts it (and nothing else).
struct Pki {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pki() -> Pki {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Pki {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

/// A message of `len` bytes that is not all one value.
fn big(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn is_rustls_error(e: &StreamError) -> bool {
    matches!(e, StreamError::Tls(e) if matches!(**e, TlsError::Rustls(_)))
}

/// Runs `body` on a thread and fails the test if it takes past `LIMIT`.
fn bounded<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(body());
    });
    result
        .recv_timeout(LIMIT)
        .expect("the test did not finish in time (or panicked)")
}

#[test]
fn default_client_config_builds_from_the_webpki_roots() {
    let config = rfc6455::tls::default_client_config().unwrap();
    // Built once and shared.
    assert!(Arc::ptr_eq(
        &config,
        &rfc6455::tls::default_client_config().unwrap()
    ));
    // It makes client connections.
    let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
    rustls::ClientConnection::new(config, name).unwrap();
}

// ---- blocking ------------------------------------------------------------------

fn blocking_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A blocking TLS server for one connection: echoes data, returns the
/// close frame it got.
fn blocking_echo_server(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
) -> thread::JoinHandle<Option<CloseFrame>> {
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(LIMIT)).unwrap();
        let mut ws = blocking::accept_tls(tcp, tls).unwrap();
        loop {
            match ws.recv().unwrap() {
                Event::Close(frame) => return frame,
                event => {
                    if let Some(message) = event.into_message() {
                        ws.send(message).unwrap();
                    }
                }
            }
        }
    })
}

#[test]
fn blocking_client_and_server_over_tls() {
    bounded(|| {
        let pki = pki();
        let (listener, port) = blocking_listener();
        let server = blocking_echo_server(listener, pki.server);

        let request = ClientRequest::new(&format!("wss://127.0.0.1:{port}/echo")).unwrap();
        let (mut ws, response) =
            blocking::connect_tls(request, Config::default(), pki.client).unwrap();
        assert_eq!(response.status(), 101);
        assert!(matches!(ws.get_ref(), blocking::MaybeTlsStream::Tls(_)));
        ws.get_ref().tcp().set_read_timeout(Some(LIMIT)).unwrap();

        ws.send("hello over tls").unwrap();
        assert_eq!(ws.recv().unwrap(), Event::Text("hello over tls".into()));
        ws.send(vec![0u8, 1, 2, 255]).unwrap();
        assert_eq!(
            ws.recv().unwrap(),
            Event::Binary(vec![0u8, 1, 2, 255].into())
        );
        let large = big(1 << 20);
        ws.send(large.clone()).unwrap();
        assert_eq!(ws.recv().unwrap(), Event::Binary(large.into()));
        ws.ping("are you there").unwrap();
        assert_eq!(ws.recv().unwrap(), Event::Pong("are you there".into()));

        ws.close(CloseCode(4000), "done here").unwrap();
        match ws.recv().unwrap() {
            Event::Close(Some(frame)) => assert_eq!(frame.code, CloseCode(4000)),
            other => panic!("expected the close reply, got {other:?}"),
        }
        let got = server.join().unwrap().expect("a close frame");
        assert_eq!((got.code, &*got.reason), (CloseCode(4000), "done here"));
    });
}

#[test]
fn blocking_client_that_does_not_trust_the_certificate_fails_with_a_tls_error() {
    bounded(|| {
        let pki = pki();
        let (listener, port) = blocking_listener();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(LIMIT)).unwrap();
            blocking::accept_tls(tcp, pki.server).map(drop)
        });
        // The default config: the webpki roots, which do not know our CA.
        let error = blocking::connect(&format!("wss://127.0.0.1:{port}/"))
            .map(drop)
            .unwrap_err();
        assert!(
            matches!(
                &error,
                StreamError::Tls(e)
                    if matches!(**e, TlsError::Rustls(rustls::Error::InvalidCertificate(_)))
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("TLS"), "{error}");
        // The server hears the client's alert.
        let server_error = server.join().unwrap().unwrap_err();
        assert!(is_rustls_error(&server_error), "{server_error:?}");
    });
}

#[test]
fn blocking_wss_to_a_plain_server_is_a_tls_error() {
    bounded(|| {
        let pki = pki();
        let (listener, port) = blocking_listener();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(LIMIT)).unwrap();
            blocking::accept(tcp).map(drop)
        });
        let request = ClientRequest::new(&format!("wss://127.0.0.1:{port}/")).unwrap();
        let error = blocking::connect_tls(request, Config::default(), pki.client)
            .map(drop)
            .unwrap_err();
        assert!(is_rustls_error(&error), "{error:?}");
        // The plain server saw a TLS ClientHello, not an HTTP request.
        assert!(server.join().unwrap().is_err());
    });
}

#[test]
fn blocking_plain_client_to_a_tls_server_is_a_tls_error_on_the_server() {
    bounded(|| {
        let pki = pki();
        let (listener, port) = blocking_listener();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(LIMIT)).unwrap();
            blocking::accept_tls(tcp, pki.server).map(drop)
        });
        assert!(blocking::connect(&format!("ws://127.0.0.1:{port}/")).is_err());
        let error = server.join().unwrap().unwrap_err();
        assert!(is_rustls_error(&error), "{error:?}");
    });
}

#[test]
fn blocking_client_stalling_in_the_tls_handshake_times_out() {
    bounded(|| {
        let pki = pki();
        let (listener, port) = blocking_listener();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let config = Config::default().handshake_timeout(Duration::from_millis(300));
            let started = std::time::Instant::now();
            let result =
                blocking::accept_tls_with(tcp, pki.server, config, |_| Ok(Default::default()));
            (result.map(drop), started.elapsed())
        });
        // Connects and says nothing: no ClientHello ever comes.
        let _silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (result, took) = server.join().unwrap();
        assert!(
            matches!(result, Err(StreamError::HandshakeTimeout)),
            "{result:?}"
        );
        assert!(took < Duration::from_secs(3), "{took:?}");
    });
}

#[test]
fn tls_shutdown_write_sends_close_notify() {
    bounded(|| {
        let pki = pki();
        let (listener, port) = blocking_listener();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(LIMIT)).unwrap();
            let conn = rustls::ServerConnection::new(pki.server).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut hello = [0u8; 5];
            tls.read_exact(&mut hello).unwrap();
            assert_eq!(&hello, b"hello");
            tls.shutdown_write().unwrap();
            // The client answers with its own close_notify.
            let mut rest = Vec::new();
            tls.read_to_end(&mut rest).unwrap();
            rest
        });
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let conn = rustls::ClientConnection::new(pki.client, name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.set_read_timeout(Some(LIMIT)).unwrap();
        tls.write_all(b"hello").unwrap();
        tls.flush().unwrap();
        let mut rest = Vec::new();
        // A clean TLS end (close_notify) reads as end of stream, not as
        // an "unexpected EOF" error.
        tls.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        tls.shutdown_write().unwrap();
        assert!(server.join().unwrap().is_empty());
    });
}

// ---- tokio ---------------------------------------------------------------------

#[cfg(feature = "tokio")]
mod tokio_adapter {
    use super::*;

    use rfc6455::tokio::{accept, accept_tls, connect, connect_tls, MaybeTlsStream};
    use tokio::net::TcpListener;
    use tokio::time::timeout;

    async fn listener() -> (TcpListener, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        (listener, port)
    }

    #[tokio::test]
    async fn tokio_client_and_server_over_tls() {
        let pki = pki();
        let (listener, port) = listener().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = accept_tls(tcp, pki.server).await.unwrap();
            loop {
                match ws.recv().await.unwrap() {
                    Event::Close(frame) => return frame,
                    event => {
                        if let Some(message) = event.into_message() {
                            ws.send(message).await.unwrap();
                        }
                    }
                }
            }
        });
        let client = async move {
            let request = ClientRequest::new(&format!("wss://127.0.0.1:{port}/echo")).unwrap();
            let (mut ws, response) = connect_tls(request, Config::default(), pki.client)
                .await
                .unwrap();
            assert_eq!(response.status(), 101);
            assert!(matches!(ws.get_ref(), MaybeTlsStream::Tls(_)));

            ws.send("hello over tls").await.unwrap();
            assert_eq!(
                ws.recv().await.unwrap(),
                Event::Text("hello over tls".into())
            );
            ws.send(vec![0u8, 1, 2, 255]).await.unwrap();
            assert_eq!(
                ws.recv().await.unwrap(),
                Event::Binary(vec![0u8, 1, 2, 255].into())
            );
            let large = big(1 << 20);
            ws.send(large.clone()).await.unwrap();
            assert_eq!(ws.recv().await.unwrap(), Event::Binary(large.into()));
            ws.ping("are you there").await.unwrap();
            assert_eq!(
                ws.recv().await.unwrap(),
                Event::Pong("are you there".into())
            );

            ws.close(CloseCode(4000), "done here").await.unwrap();
            match ws.recv().await.unwrap() {
                Event::Close(Some(frame)) => assert_eq!(frame.code, CloseCode(4000)),
                other => panic!("expected the close reply, got {other:?}"),
            }
        };
        timeout(LIMIT, client).await.unwrap();
        let got = timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
        assert_eq!((got.code, &*got.reason), (CloseCode(4000), "done here"));
    }

    #[tokio::test]
    async fn tokio_client_that_does_not_trust_the_certificate_fails_with_a_tls_error() {
        let pki = pki();
        let (listener, port) = listener().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            accept_tls(tcp, pki.server).await.map(drop)
        });
        let url = format!("wss://127.0.0.1:{port}/");
        let error = timeout(LIMIT, connect(&url))
            .await
            .unwrap()
            .map(drop)
            .unwrap_err();
        assert!(
            matches!(
                &error,
                StreamError::Tls(e)
                    if matches!(**e, TlsError::Rustls(rustls::Error::InvalidCertificate(_)))
            ),
            "{error:?}"
        );
        let server_error = timeout(LIMIT, server).await.unwrap().unwrap().unwrap_err();
        assert!(is_rustls_error(&server_error), "{server_error:?}");
    }

    #[tokio::test]
    async fn tokio_wss_to_a_plain_server_is_a_tls_error() {
        let pki = pki();
        let (listener, port) = listener().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            accept(tcp).await.map(drop)
        });
        let request = ClientRequest::new(&format!("wss://127.0.0.1:{port}/")).unwrap();
        let error = timeout(LIMIT, connect_tls(request, Config::default(), pki.client))
            .await
            .unwrap()
            .map(drop)
            .unwrap_err();
        assert!(is_rustls_error(&error), "{error:?}");
        assert!(timeout(LIMIT, server).await.unwrap().unwrap().is_err());
    }

    #[tokio::test]
    async fn tokio_plain_client_to_a_tls_server_is_a_tls_error_on_the_server() {
        let pki = pki();
        let (listener, port) = listener().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            accept_tls(tcp, pki.server).await.map(drop)
        });
        let url = format!("ws://127.0.0.1:{port}/");
        assert!(timeout(LIMIT, connect(&url)).await.unwrap().is_err());
        let error = timeout(LIMIT, server).await.unwrap().unwrap().unwrap_err();
        assert!(is_rustls_error(&error), "{error:?}");
    }

    #[tokio::test]
    async fn tokio_client_stalling_in_the_tls_handshake_times_out() {
        let pki = pki();
        let (listener, port) = listener().await;
        let server =
            tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let config = Config::default().handshake_timeout(Duration::from_millis(300));
                let started = std::time::Instant::now();
                let result = rfc6455::tokio::accept_tls_with(tcp, pki.server, config, |_| {
                    Ok(Default::default())
                })
                .await;
                (result.map(drop), started.elapsed())
            });
        // Connects and says nothing: no ClientHello ever comes.
        let _silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (result, took) = timeout(LIMIT, server).await.unwrap().unwrap();
        assert!(
            matches!(result, Err(StreamError::HandshakeTimeout)),
            "{result:?}"
        );
        assert!(took < Duration::from_secs(3), "{took:?}");
    }

    #[tokio::test]
    async fn tokio_connect_to_a_server_stalling_in_the_tls_handshake_times_out() {
        let pki = pki();
        let (listener, port) = listener().await;
        // Accepts TCP and never answers the ClientHello.
        let _server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::time::sleep(LIMIT).await;
            drop(tcp);
        });
        let request = ClientRequest::new(&format!("wss://127.0.0.1:{port}/")).unwrap();
        let config = Config::default().handshake_timeout(Duration::from_millis(300));
        let result = timeout(LIMIT, connect_tls(request, config, pki.client))
            .await
            .unwrap();
        assert!(
            matches!(result, Err(StreamError::HandshakeTimeout)),
            "{:?}",
            result.err()
        );
    }

    #[tokio::test]
    async fn tokio_ws_urls_stay_plain_with_a_tls_config() {
        let pki = pki();
        let (listener, port) = listener().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = accept(tcp).await.unwrap();
            ws.recv_message().await.unwrap()
        });
        let request = ClientRequest::new(&format!("ws://127.0.0.1:{port}/")).unwrap();
        let (mut ws, _) = timeout(LIMIT, connect_tls(request, Config::default(), pki.client))
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(ws.get_ref(), MaybeTlsStream::Plain(_)));
        ws.send("plain").await.unwrap();
        let got = timeout(LIMIT, server).await.unwrap().unwrap();
        assert_eq!(got, Some("plain".into()));
    }
}
