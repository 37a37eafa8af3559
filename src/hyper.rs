//! Upgrading a hyper 1 request to a WebSocket (feature `hyper`), over
//! HTTP/1.1 (`Upgrade: websocket`) or HTTP/2 (extended CONNECT, RFC 8441).
//!
//! The handshake rules are the core's ([`Request::from_http`],
//! [`Request::accept`], [`Accepted::to_http`]); this module only takes the
//! upgraded connection from hyper and hands it to the tokio adapter.
//!
//! Serve connections with upgrades (`serve_connection_with_upgrades`, or
//! `http1::Builder::serve_connection(..).with_upgrades()`), and for HTTP/2
//! enable extended CONNECT (`http2().enable_connect_protocol()`), so that
//! browsers use it. A whole server, with `hyper-util` (features `tokio`,
//! `server-auto`) and `http-body-util` as dependencies of your own:
//!
//! ```no_run
//! use std::convert::Infallible;
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use rfc6455::handshake::{AcceptOptions, Refusal};
//! use rfc6455::hyper::Upgrade;
//! use rfc6455::Config;
//!
//! async fn handle(mut req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
//!     let upgrade = match Upgrade::new(&mut req) {
//!         Ok(upgrade) => upgrade,
//!         // Not a valid WebSocket request: 400, 426 or 500, with the reason.
//!         Err(e) => return Ok(e.to_http()),
//!     };
//!     // Browsers send Origin; other clients usually do not.
//!     if upgrade.request().origin().is_some_and(|o| o != "https://example.com") {
//!         return Ok(Refusal::new(403).to_http());
//!     }
//!     let mut options = AcceptOptions::default();
//!     options.protocol = upgrade.request().select_protocol(["chat.v2", "chat.v1"]).map(str::to_owned);
//!     match upgrade.accept(&options, Config::default()) {
//!         Ok((response, pending)) => {
//!             tokio::spawn(async move {
//!                 let Ok(mut ws) = pending.await else { return };
//!                 while let Ok(Some(message)) = ws.recv_message().await {
//!                     if ws.send(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!             Ok(response)
//!         }
//!         Err(e) => Ok(rfc6455::handshake::Error::from(e).to_http()),
//!     }
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
//!         builder.http2().enable_connect_protocol(); // WebSockets over HTTP/2
//!         let service = hyper::service::service_fn(handle);
//!         let _ = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service).await;
//!     });
//! }
//! # }
//! ```

use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;

use hyper_util::rt::TokioIo;

use crate::handshake::{AcceptOptions, Accepted, BuildError, Error, HttpVersion, Request};
use crate::tokio::WebSocketStream;
use crate::{Config, StreamError};

/// The byte stream a hyper upgrade gives, for the tokio adapter.
pub type UpgradedIo = TokioIo<hyper::upgrade::Upgraded>;

/// A WebSocket on a connection hyper upgraded.
pub type WebSocket = WebSocketStream<UpgradedIo>;

/// A validated WebSocket request, taken out of a hyper request, waiting
/// for the caller's decision.
#[derive(Debug)]
pub struct Upgrade {
    request: Request,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

impl Upgrade {
    /// Validates `req` as an opening handshake and takes hyper's upgrade
    /// handle out of it.
    ///
    /// # Errors
    ///
    /// The rule the request broke (answer it with [`Error::to_http`]), or
    /// [`Error::UpgradeUnavailable`] when hyper offers no upgrade of this
    /// connection.
    pub fn new<B>(req: &mut http::Request<B>) -> Result<Upgrade, Error> {
        Request::from_http_request(req)
            .map_err(Error::from)
            .and_then(|request| Upgrade::take(request, req.extensions_mut()))
            .inspect_err(|e| crate::trace::server_handshake_failed(e, None))
    }

    /// As [`Upgrade::new`], on a request's head.
    pub fn from_parts(parts: &mut http::request::Parts) -> Result<Upgrade, Error> {
        Upgrade::parse_parts(parts).inspect_err(|e| crate::trace::server_handshake_failed(e, None))
    }

    /// As [`Upgrade::from_parts`], without the trace event: for callers
    /// that know more about the peer.
    pub(crate) fn parse_parts(parts: &mut http::request::Parts) -> Result<Upgrade, Error> {
        let request = Request::from_http(parts)?;
        Upgrade::take(request, &mut parts.extensions)
    }

    fn take(request: Request, extensions: &mut http::Extensions) -> Result<Upgrade, Error> {
        let on_upgrade = extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or(Error::UpgradeUnavailable)?;
        Ok(Upgrade {
            request,
            on_upgrade,
        })
    }

    /// The request: path, host, origin, offered subprotocols and
    /// extensions, every header, and the HTTP version it came over.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Accepts: the response to return from the service (101, or 200 over
    /// HTTP/2) and the WebSocket to await once hyper has sent it. The
    /// extensions `config` enables are agreed as in [`Request::accept`].
    ///
    /// # Errors
    ///
    /// An [`BuildError`] when `options` cannot be written as a valid
    /// answer; nothing was agreed.
    pub fn accept<B: Default>(
        self,
        options: &AcceptOptions,
        config: Config,
    ) -> Result<(http::Response<B>, PendingWebSocket), BuildError> {
        let accepted = self.request.accept(options, &config)?;
        Ok((
            accepted.to_http(),
            PendingWebSocket {
                version: self.request.version(),
                on_upgrade: self.on_upgrade,
                accepted,
            },
        ))
    }
}

/// The WebSocket an accepted [`Upgrade`] becomes once hyper hands over the
/// connection; `.await` it (after returning the response).
///
/// It fails with an I/O error if the client went away, or if the
/// connection is served without upgrades (hyper's "upgrade expected but
/// low level API in use": serve it with `.with_upgrades()` or
/// `serve_connection_with_upgrades`); the answer had already been sent.
#[derive(Debug)]
pub struct PendingWebSocket {
    version: HttpVersion,
    on_upgrade: hyper::upgrade::OnUpgrade,
    accepted: Accepted,
}

impl PendingWebSocket {
    /// The HTTP version the WebSocket runs over.
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// The subprotocol agreed, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.accepted.protocol()
    }
}

impl IntoFuture for PendingWebSocket {
    type Output = Result<WebSocket, StreamError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let upgraded = self.on_upgrade.await.map_err(io::Error::other)?;
            // hyper keeps what it read past the head inside `Upgraded`.
            let conn = self.accepted.into_connection(b"");
            Ok(WebSocketStream::from_connection(
                TokioIo::new(upgraded),
                conn,
            ))
        })
    }
}
