//! Loopback sockets for the tokio tests: a listener on 127.0.0.1, a server
//! WebSocket accepted on it, and a raw client that did the opening
//! handshake and nothing more (to write any bytes a peer might).
#![allow(dead_code)]

use rfc6455::handshake::ClientRequest;
use rfc6455::tokio::{accept_with, WebSocketStream};
use rfc6455::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A listener on a free port of 127.0.0.1, and its `ws://` URL.
pub async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

/// Accepts one connection and its opening handshake.
pub async fn accept_one(listener: &TcpListener, config: Config) -> WebSocketStream<TcpStream> {
    let (tcp, _) = listener.accept().await.unwrap();
    accept_with(tcp, config, |_| Ok(Default::default()))
        .await
        .unwrap()
}

/// Completes the client handshake by hand and returns the raw socket.
pub async fn raw_client(url: &str) -> TcpStream {
    let request = ClientRequest::new(url).unwrap();
    let mut tcp = TcpStream::connect((request.host(), request.port()))
        .await
        .unwrap();
    tcp.write_all(&request.encode()).await.unwrap();
    let mut buf = Vec::new();
    while !request
        .parse_response(&buf, &Default::default())
        .unwrap()
        .is_complete()
    {
        let mut chunk = [0u8; 1024];
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
    tcp
}
