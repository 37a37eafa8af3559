//! An axum 0.8 extractor for WebSockets (feature `axum`), over HTTP/1.1 and
//! HTTP/2 (extended CONNECT, RFC 8441) alike.
//!
//! Route it with `any(...)`, not `get(...)`: over HTTP/2 the opening
//! handshake is a `CONNECT`. `axum::serve` already enables extended
//! CONNECT; a server of your own enables it with hyper-util's
//! `http2().enable_connect_protocol()`.
//!
//! ```no_run
//! use axum::{response::Response, routing::any, Router};
//! use rfc6455::axum::{WebSocket, WebSocketUpgrade};
//! use rfc6455::handshake::Refusal;
//! use rfc6455::Config;
//!
//! async fn chat(upgrade: WebSocketUpgrade) -> Response {
//!     // Browsers send Origin: refuse other sites' pages.
//!     if upgrade.request().origin().is_some_and(|o| o != "https://example.com") {
//!         return upgrade.refuse(Refusal::new(403));
//!     }
//!     // What `ws` cannot tell later: capture it now.
//!     let version = upgrade.version();
//!     upgrade
//!         .config(Config::default()) // limits, keepalive, close timeout...
//!         .protocols(["chat.v2", "chat.v1"])
//!         .on_upgrade(move |mut ws: WebSocket| async move {
//!             println!("WebSocket over {version}");
//!             while let Ok(Some(message)) = ws.recv_message().await {
//!                 if ws.send(message).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         })
//! }
//!
//! let app: Router = Router::new().route("/chat", any(chat));
//! ```
//!
//! permessage-deflate is on when the config has it:
//! `Config::default().deflate(DeflateConfig::default())` (feature `deflate`).
//!
//! Failures become HTTP answers: a request that breaks a handshake rule
//! gets 400 (426 with `Sec-WebSocket-Version: 13` for another version)
//! and the rule in the body; a server that cannot upgrade gets 500.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::handshake::{self, AcceptOptions, HttpVersion, Refusal, Request};
use crate::hyper::Upgrade;
use crate::Config;

pub use crate::hyper::WebSocket;

/// The extractor: a validated WebSocket request, and the answer being
/// prepared (config, subprotocol, extra headers) until
/// [`on_upgrade`](WebSocketUpgrade::on_upgrade).
#[derive(Debug)]
pub struct WebSocketUpgrade {
    upgrade: Upgrade,
    config: Config,
    options: AcceptOptions,
    /// The client's address, when the app is served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`: for the
    /// `tracing` feature's events.
    peer: Option<SocketAddr>,
}

/// Why a request is not a WebSocket handshake we can take: the extractor's
/// failure (axum calls it a rejection; in this crate it is the refusal a
/// server sends), answered with the HTTP status and the rule broken.
#[derive(Debug)]
pub struct WebSocketRefusal(pub handshake::Error);

impl IntoResponse for WebSocketRefusal {
    fn into_response(self) -> Response {
        self.0.to_http()
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.to_http()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = WebSocketRefusal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        let upgrade = Upgrade::parse_parts(parts).map_err(|e| {
            crate::trace::server_handshake_failed(&e, peer);
            WebSocketRefusal(e)
        })?;
        Ok(WebSocketUpgrade {
            upgrade,
            config: Config::default(),
            options: AcceptOptions::default(),
            peer,
        })
    }
}

impl WebSocketUpgrade {
    /// The request: path, host, `Origin`, offered subprotocols and
    /// extensions, every header.
    pub fn request(&self) -> &Request {
        self.upgrade.request()
    }

    /// The HTTP version the request came over (`HTTP/2.0` for extended
    /// CONNECT).
    pub fn version(&self) -> HttpVersion {
        self.request().version()
    }

    /// The connection's config: limits, keepalive, close timeout, and the
    /// extensions to agree on (permessage-deflate with
    /// [`Config::deflate`]). Default: [`Config::default`].
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Selects the first of `supported` (in your order of preference) that
    /// the client offered; none selected if the client offered none of
    /// them (RFC 6455 §4.2.2 item 5.4: the answer then names no
    /// subprotocol, and the client decides whether to go on).
    #[must_use]
    pub fn protocols<I, P>(mut self, supported: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        self.options.protocol = self
            .upgrade
            .request()
            .select_protocol(supported)
            .map(str::to_owned);
        self
    }

    /// The subprotocol that will be selected, if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.options.protocol.as_deref()
    }

    /// Adds a header to the answer, e.g. `Set-Cookie`. One that is
    /// malformed, or one the answer writes itself (`Upgrade`, `Connection`,
    /// `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol` (use
    /// [`protocols`](Self::protocols)), `Sec-WebSocket-Extensions` (use
    /// [`config`](Self::config)), `Content-Length`, `Transfer-Encoding`),
    /// turns the answer into a 500 whose body names it.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.headers.push((name.into(), value.into()));
        self
    }

    /// Refuses the request with `refusal` (a status such as 401 or 403,
    /// headers, a body).
    pub fn refuse(self, refusal: Refusal) -> Response {
        crate::trace::refusal_sent(refusal.sent_status(), self.peer);
        refusal.into_response()
    }

    /// Accepts: returns the answer for axum to send, and once the
    /// connection is handed over, runs `callback` with the WebSocket in a
    /// task of its own. If the handover fails (the client went away), the
    /// callback does not run.
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        match self.upgrade.accept(&self.options, self.config) {
            Ok((response, pending)) => {
                let task = async move {
                    if let Ok(ws) = pending.await {
                        callback(ws).await;
                    }
                };
                // The connection's events (a broken rule, a timeout) then
                // name the peer too.
                #[cfg(feature = "tracing")]
                let task = tracing::Instrument::instrument(
                    task,
                    tracing::debug_span!(
                        "websocket",
                        peer = self.peer.map(tracing::field::display)
                    ),
                );
                tokio::spawn(task);
                response
            }
            Err(e) => {
                let error = handshake::Error::Build(e);
                crate::trace::server_handshake_failed(&error, self.peer);
                error.to_http()
            }
        }
    }
}
