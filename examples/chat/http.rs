//! One port for both: read the request head, and tell a WebSocket upgrade
//! from a plain HTTP request with the crate's own handshake parser.

use std::io;

use rfc6455::handshake::{self, Limits, Parsed, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the client asked for.
pub enum Head {
    /// A valid WebSocket upgrade, and the bytes read past its head (the
    /// client's first frames, if it did not wait for our answer).
    Upgrade(Request, Vec<u8>),
    /// A complete HTTP request that is not a valid upgrade: `error` says
    /// why, and its `response()` is the right refusal for `/ws`.
    Plain {
        method: String,
        path: String,
        error: handshake::Error,
    },
    /// Not HTTP, or over the limits: answer this and close.
    Invalid(Vec<u8>),
}

/// Reads until the head is complete (at most 8 KiB).
pub async fn read_head(tcp: &mut TcpStream) -> io::Result<Head> {
    let limits = Limits::default();
    let mut buf = Vec::with_capacity(1024);
    loop {
        match handshake::parse_request(&buf, &limits) {
            Ok(Parsed::Complete(request, used)) => {
                return Ok(Head::Upgrade(request, buf[used..].to_vec()))
            }
            Ok(Parsed::Partial) => {
                buf.reserve(1024);
                if tcp.read_buf(&mut buf).await? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            // The handshake parser only fails on a complete head (or on
            // limits and garbage): if httparse reads a request, it is plain
            // HTTP.
            Err(error) => {
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut request = httparse::Request::new(&mut headers);
                return Ok(match request.parse(&buf) {
                    Ok(httparse::Status::Complete(_)) => Head::Plain {
                        method: request.method.unwrap_or_default().to_owned(),
                        path: request.path.unwrap_or_default().to_owned(),
                        error,
                    },
                    _ => Head::Invalid(error.response()),
                });
            }
        }
    }
}

/// Writes a complete response and closes the connection.
pub async fn respond(
    tcp: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let headers = [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ];
    // `reject` writes any status with Connection: close and a length.
    send_and_close(tcp, &handshake::reject(status, &headers, body)).await
}

pub async fn send_and_close(tcp: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    tcp.write_all(bytes).await?;
    tcp.shutdown().await
}

/// Splits `/path?a=1&b=2` and finds parameter `key` (no percent-decoding:
/// names are plain tokens here).
pub fn query_param<'a>(target: &'a str, key: &str) -> Option<&'a str> {
    let (_, query) = target.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// The path without its query.
pub fn path_of(target: &str) -> &str {
    target.split_once('?').map_or(target, |(path, _)| path)
}
