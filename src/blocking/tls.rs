//! `wss://` for the blocking adapter (feature `tls`): rustls streams as
//! [`Transport`]s, the TLS client stream `connect` opens, a client with a
//! config of your own, and a TLS server. The shared part (configs, server
//! names, errors) is in [`crate::tls`].

use std::io::{self, Write};
use std::net::TcpStream;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{
    ClientConfig, ClientConnection, ConnectionCommon, ServerConfig, ServerConnection, SideData,
    StreamOwned,
};

use super::connect::{self, MaybeTlsStream};
use super::{Transport, WebSocket};
use crate::handshake::{AcceptOptions, ClientRequest, Refusal, Request, Response};
use crate::tls::{stream_error, ClientTls};
use crate::{Config, StreamError, TlsError};

/// The stream of a connection accepted by [`accept_tls`]: rustls' server
/// side over `S` (TCP by default).
pub type TlsServerStream<S = TcpStream> = StreamOwned<ServerConnection, S>;

/// A rustls stream (client or server side) over any [`Transport`]:
/// timeouts apply to the transport beneath, and closing the write half
/// first sends TLS `close_notify`.
impl<C, S, D> Transport for StreamOwned<C, S>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    S: Transport,
    D: SideData,
{
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        // Even if the alert cannot be written, the transport still closes.
        let sent = self.flush();
        self.sock.shutdown_write()?;
        sent
    }
}

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
/// use rfc6455::{blocking, Config};
///
/// let tls: rustls::ClientConfig = (*default_client_config()?).clone();
/// let request = ClientRequest::new("wss://example.com/socket")?.protocol("chat")?;
/// let (mut ws, _response) = blocking::connect_tls(request, Config::default(), Arc::new(tls))?;
/// ws.send("hello")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect_tls(
    request: ClientRequest,
    config: Config,
    tls: Arc<ClientConfig>,
) -> Result<(WebSocket<MaybeTlsStream>, Response), StreamError> {
    connect::over_tcp(&request, config, ClientTls::Config(tls))
}

/// TLS over TCP to a `wss://` request's host: the config and the server
/// name are checked before dialing. The TLS handshake runs with the first
/// write, inside the WebSocket handshake's time budget.
pub(super) fn open_tls(
    request: &ClientRequest,
    tls: ClientTls,
    deadline: Instant,
) -> Result<MaybeTlsStream, StreamError> {
    let (config, name) = tls.resolve(request)?;
    let conn = ClientConnection::new(config, name).map_err(TlsError::Rustls)?;
    let stream = StreamOwned::new(conn, connect::dial(request, deadline)?);
    Ok(MaybeTlsStream::Tls(Box::new(stream)))
}

/// Runs the server handshake over TLS, accepting any valid request: the
/// TLS handshake, then the WebSocket one, on an accepted `stream`.
///
/// A client that does not speak TLS, or that rejects our certificate,
/// gives [`StreamError::Tls`].
///
/// ```no_run
/// use std::net::TcpListener;
/// use std::sync::Arc;
/// use rfc6455::blocking;
/// use rfc6455::tls::rustls;
///
/// # fn demo(tls: rustls::ServerConfig) -> Result<(), Box<dyn std::error::Error>> {
/// let tls = Arc::new(tls); // your certificate chain and key
/// let listener = TcpListener::bind("127.0.0.1:9443")?;
/// for tcp in listener.incoming() {
///     let mut ws = blocking::accept_tls(tcp?, tls.clone())?;
///     while let Some(message) = ws.recv_message()? {
///         ws.send(message)?;
///     }
/// }
/// # Ok(()) }
/// ```
pub fn accept_tls<S: Transport>(
    stream: S,
    tls: Arc<ServerConfig>,
) -> Result<WebSocket<TlsServerStream<S>>, StreamError> {
    accept_tls_with(stream, tls, Config::default(), |_| {
        Ok(AcceptOptions::default())
    })
}

/// Like [`accept_tls`], with a config and a `decide` hook as in
/// [`accept_with`](super::accept_with).
///
/// ```no_run
/// use std::sync::Arc;
/// use rfc6455::{blocking, handshake::{AcceptOptions, Refusal}, Config};
/// # fn demo(tcp: std::net::TcpStream, tls: Arc<rfc6455::tls::rustls::ServerConfig>) -> Result<(), rfc6455::StreamError> {
/// let ws = blocking::accept_tls_with(tcp, tls, Config::default(), |request| {
///     match request.path() {
///         "/chat" => Ok(AcceptOptions::default()),
///         _ => Err(Refusal::new(404)),
///     }
/// })?;
/// # Ok(()) }
/// ```
pub fn accept_tls_with<S, F>(
    stream: S,
    tls: Arc<ServerConfig>,
    config: Config,
    decide: F,
) -> Result<WebSocket<TlsServerStream<S>>, StreamError>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<AcceptOptions, Refusal>,
{
    let conn = ServerConnection::new(tls).map_err(TlsError::Rustls)?;
    // The TLS handshake runs with the first read, inside the WebSocket
    // handshake's time budget.
    super::accept_with(StreamOwned::new(conn, stream), config, decide).map_err(stream_error)
}
