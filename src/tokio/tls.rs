//! `wss://` for the tokio adapter (features `tokio` and `tls`): the TLS
//! client stream `connect` opens, a client with a config of your own, a
//! TLS server, and TLS for HTTP/2 (feature `h2`). The shared part
//! (configs, server names, errors) is in [`crate::tls`].

use std::sync::Arc;

use rustls::{ClientConfig, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::connect::{self, MaybeTlsStream};
use super::{accept_with, within, WebSocketStream};
use crate::handshake::{AcceptOptions, ClientRequest, Refusal, Request, Response};
use crate::tls::{stream_error, ClientTls};
use crate::{Config, StreamError};

/// The stream of a connection accepted by [`accept_tls`]: tokio-rustls'
/// server side over `S` (TCP by default).
pub type TlsServerStream<S = TcpStream> = tokio_rustls::server::TlsStream<S>;

/// Connects like [`connect_with`](super::connect_with), but a `wss://`
/// URL uses `tls` (your roots, client certificate, ALPN...) instead of
/// [`default_client_config`](crate::tls::default_client_config). A
/// `ws://` URL still connects in plain TCP, as it says.
///
/// A certificate that is not trusted, or a server that does not speak
/// TLS, gives [`StreamError::Tls`].
///
/// ```no_run
/// use std::sync::Arc;
/// use rfc6455::handshake::ClientRequest;
/// use rfc6455::tls::{default_client_config, rustls};
/// use rfc6455::{tokio::connect_tls, Config};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let tls: rustls::ClientConfig = (*default_client_config()?).clone();
/// let request = ClientRequest::new("wss://example.com/socket")?.protocol("chat")?;
/// let (mut ws, _response) = connect_tls(request, Config::default(), Arc::new(tls)).await?;
/// ws.send("hello").await?;
/// # Ok(()) }
/// ```
pub async fn connect_tls(
    request: ClientRequest,
    config: Config,
    tls: Arc<ClientConfig>,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), StreamError> {
    connect::over_tcp(&request, config, ClientTls::Config(tls)).await
}

/// TLS over TCP to a `wss://` request's host: the config and the server
/// name are checked before dialing, and the TLS handshake runs here.
pub(super) async fn open_tls(
    request: &ClientRequest,
    tls: ClientTls,
) -> Result<MaybeTlsStream, StreamError> {
    let (config, name) = tls.resolve(request)?;
    let tcp = connect::dial(request).await?;
    let stream = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| stream_error(e.into()))?;
    Ok(MaybeTlsStream::Tls(Box::new(stream)))
}

/// Runs the server handshake over TLS, accepting any valid request: the
/// TLS handshake, then the WebSocket one, on an accepted `stream`.
///
/// A client that does not speak TLS, or that rejects our certificate,
/// gives [`StreamError::Tls`]. The TLS handshake and the WebSocket one
/// each get [`Config::handshake_timeout`]; a client that stalls in either
/// ends with [`StreamError::HandshakeTimeout`].
///
/// ```no_run
/// use std::sync::Arc;
/// use rfc6455::tls::rustls;
/// use rfc6455::tokio::accept_tls;
///
/// # async fn demo(tls: rustls::ServerConfig) -> Result<(), Box<dyn std::error::Error>> {
/// let tls = Arc::new(tls); // your certificate chain and key
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9443").await?;
/// loop {
///     let (tcp, _) = listener.accept().await?;
///     let tls = tls.clone();
///     tokio::spawn(async move {
///         let mut ws = accept_tls(tcp, tls).await?;
///         while let Some(message) = ws.recv_message().await? {
///             ws.send(message).await?;
///         }
///         Ok::<_, rfc6455::StreamError>(())
///     });
/// }
/// # }
/// ```
pub async fn accept_tls<S>(
    stream: S,
    tls: Arc<ServerConfig>,
) -> Result<WebSocketStream<TlsServerStream<S>>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_tls_with(stream, tls, Config::default(), |_| {
        Ok(AcceptOptions::default())
    })
    .await
}

/// Like [`accept_tls`], with a config and a `decide` hook as in
/// [`accept_with`].
///
/// ```no_run
/// use std::sync::Arc;
/// use rfc6455::handshake::{AcceptOptions, Refusal};
/// use rfc6455::{tokio::accept_tls_with, Config};
///
/// # async fn demo(tcp: tokio::net::TcpStream, tls: Arc<rfc6455::tls::rustls::ServerConfig>) -> Result<(), rfc6455::StreamError> {
/// let ws = accept_tls_with(tcp, tls, Config::default(), |request| match request.path() {
///     "/chat" => Ok(AcceptOptions::default()),
///     _ => Err(Refusal::new(404)),
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn accept_tls_with<S, F>(
    stream: S,
    tls: Arc<ServerConfig>,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<TlsServerStream<S>>, StreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptOptions, Refusal>,
{
    // A client that stalls in the TLS handshake is bounded like one that
    // stalls in the WebSocket handshake (no HTTP 408 is possible here).
    let deadline = config.handshake_deadline(std::time::Instant::now());
    let stream = within(deadline.into(), TlsAcceptor::from(tls).accept(stream))
        .await?
        .map_err(|e| stream_error(e.into()))?;
    accept_with(stream, config, decide)
        .await
        .map_err(stream_error)
}

/// TLS for an HTTP/2 client connection (feature `h2`): the default client
/// config with ALPN `h2`, which the server must select (RFC 7540 §3.3).
#[cfg(feature = "h2")]
pub(crate) async fn connect_h2(
    request: &ClientRequest,
    tcp: TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let (config, name) = ClientTls::Default
        .resolve(request)
        .map_err(std::io::Error::other)?;
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let stream = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
        return Err(std::io::Error::other(
            "the server did not select HTTP/2 by ALPN (RFC 7540 §3.3)",
        ));
    }
    Ok(stream)
}
