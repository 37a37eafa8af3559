//! The extensions agreed in the opening handshake, and how a [`Config`]
//! agrees on them.
//!
//! The adapters call these for you; use them directly when the handshake
//! runs elsewhere (hyper, axum) and you build the [`Connection`] yourself
//! with [`Connection::with_extensions`].
//!
//! [`Connection`]: crate::Connection
//! [`Connection::with_extensions`]: crate::Connection::with_extensions

use crate::handshake::{self, AcceptOptions, ClientRequest, Request, Response};
use crate::Config;

/// The extensions in use on a connection. Without the `deflate` feature
/// there are none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<crate::deflate::DeflateParams>,
}

impl Extensions {
    /// No extensions.
    pub fn none() -> Extensions {
        Extensions::default()
    }

    /// permessage-deflate with parameters agreed by other means (a
    /// handshake run by another library).
    #[cfg(feature = "deflate")]
    pub fn with_deflate(params: crate::deflate::DeflateParams) -> Extensions {
        Extensions {
            deflate: Some(params),
        }
    }

    /// The agreed permessage-deflate parameters, if compression is on.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::deflate::DeflateParams> {
        self.deflate.as_ref()
    }

    /// Server side: picks the offers in `request` that `config` supports
    /// and writes the answer into `options`. When the caller already set
    /// `options.extensions`, that answer stands and nothing is negotiated.
    ///
    /// ```
    /// use rfc6455::handshake::{parse_request, AcceptOptions, Limits, Parsed};
    /// use rfc6455::{Config, Extensions};
    ///
    /// let raw = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// let Parsed::Complete(request, _) = parse_request(raw, &Limits::default())? else { unreachable!() };
    /// let mut options = AcceptOptions::default();
    /// let extensions = Extensions::negotiate_server(&request, &mut options, &Config::default());
    /// assert_eq!(extensions, Extensions::none()); // nothing offered, nothing agreed
    /// # Ok::<(), rfc6455::handshake::Error>(())
    /// ```
    pub fn negotiate_server(
        request: &Request,
        options: &mut AcceptOptions,
        config: &Config,
    ) -> Extensions {
        let _ = (request, config);
        if options.extensions.is_some() {
            return Extensions::none();
        }
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &config.deflate {
            if let Some((answer, params)) =
                crate::deflate::server_accept(request.extensions(), deflate)
            {
                options.extensions = Some(answer);
                return Extensions {
                    deflate: Some(params),
                };
            }
        }
        Extensions::none()
    }

    /// Client side: `request` with the offers `config` asks for. An offer
    /// the caller set on the request stands.
    pub fn offer(
        request: ClientRequest,
        config: &Config,
    ) -> Result<ClientRequest, handshake::Error> {
        let _ = config;
        if request.extensions_offered().is_some() {
            return Ok(request);
        }
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &config.deflate {
            return request.extensions(crate::deflate::client_offer(deflate));
        }
        Ok(request)
    }

    /// Client side: what the server's answer agreed to. The handshake has
    /// already checked that only offered extensions were accepted.
    pub fn from_response(
        response: &Response,
        config: &Config,
    ) -> Result<Extensions, handshake::Error> {
        let _ = (response, config);
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &config.deflate {
            let params = crate::deflate::client_accept(response.extensions(), deflate)
                .map_err(|e| handshake::Error::Deflate(Box::new(e)))?;
            return Ok(Extensions { deflate: params });
        }
        Ok(Extensions::none())
    }
}
