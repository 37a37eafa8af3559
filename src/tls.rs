//! TLS for `wss://`: what both adapters share (the rustls config a client
//! gets, the name its certificate must match, and [`TlsError`]).
//!
//! With the feature `tls`, the adapters connect `wss://` URLs through
//! rustls, verifying the server against the Mozilla roots of
//! `webpki-roots` ([`default_client_config`]), or against a
//! `rustls::ClientConfig` of your own: `blocking::connect_tls` and
//! `tokio::connect_tls`. Servers take a `rustls::ServerConfig`:
//! `blocking::accept_tls` and `tokio::accept_tls`. TLS changes only the
//! stream: the WebSocket handshake and protocol run unchanged on top.
//! Without the feature this module holds only [`TlsError`], and a `wss://`
//! URL fails with [`TlsError::NotEnabled`] before anything is connected.
//!
//! `rustls` is re-exported so that your configs come from the same version
//! this crate uses.
//!
//! ```no_run
//! # #[cfg(feature = "tls")] {
//! use std::sync::Arc;
//! use rfc6455::handshake::ClientRequest;
//! use rfc6455::tls::rustls;
//! use rfc6455::{blocking, Config};
//!
//! // Trust one private CA instead of the public roots.
//! # let ca_der: Vec<u8> = Vec::new();
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(rustls::pki_types::CertificateDer::from(ca_der))?;
//! let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
//! let request = ClientRequest::new("wss://internal.example:9443/feed")?;
//! let (mut ws, _response) = blocking::connect_tls(request, Config::default(), Arc::new(tls))?;
//! ws.send("hello")?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

#[cfg(feature = "tls")]
pub use with_rustls::*;

use crate::StreamError;

/// Why a TLS (`wss://`) connection could not be set up; inside
/// [`StreamError::Tls`].
///
/// ```
/// use rfc6455::{StreamError, TlsError};
///
/// fn explain(e: &StreamError) -> &'static str {
///     match e {
///         StreamError::Tls(e) if matches!(**e, TlsError::NotEnabled) => {
///             "rebuild with the `tls` feature"
///         }
///         StreamError::Tls(_) => "the TLS handshake failed",
///         _ => "something else",
///     }
/// }
/// let e = StreamError::from(TlsError::NotEnabled);
/// assert_eq!(explain(&e), "rebuild with the `tls` feature");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The URL is `wss://` but the crate was built without the `tls`
    /// feature. Nothing was connected.
    NotEnabled,
    /// The URL's host is neither a DNS name nor an IP address that TLS can
    /// verify a certificate against.
    InvalidServerName(String),
    /// rustls failed: most often the handshake (a certificate that is not
    /// trusted or not for this host, a peer that does not speak TLS), or a
    /// config it cannot build.
    #[cfg(feature = "tls")]
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::NotEnabled => {
                f.write_str("wss:// needs TLS: build rfc6455 with the `tls` feature")
            }
            TlsError::InvalidServerName(host) => {
                write!(f, "{host:?} is not a valid TLS server name")
            }
            #[cfg(feature = "tls")]
            TlsError::Rustls(e) => write!(f, "TLS failed: {e}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            #[cfg(feature = "tls")]
            TlsError::Rustls(e) => Some(e),
            _ => None,
        }
    }
}

/// Which TLS client config a connection gets: the adapters' `connect`
/// functions and the reconnecting client share this choice. `ws://` URLs
/// ignore it.
#[derive(Clone)]
pub(crate) enum ClientTls {
    /// [`default_client_config`], or, without the `tls` feature,
    /// [`TlsError::NotEnabled`].
    Default,
    /// The caller's.
    #[cfg(feature = "tls")]
    Config(std::sync::Arc<rustls::ClientConfig>),
}

/// An adapter's error, with what rustls raised put back under
/// [`StreamError::Tls`]: a TLS stream reports rustls failures (in its
/// handshake, say) as I/O errors. Any other error is returned as it is.
pub(crate) fn stream_error(e: StreamError) -> StreamError {
    match e {
        #[cfg(feature = "tls")]
        StreamError::Io(e) => match e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(tls) => TlsError::Rustls(tls.clone()).into(),
            None => StreamError::Io(e),
        },
        other => other,
    }
}

/// The rustls glue, built with the feature `tls` only.
#[cfg(feature = "tls")]
mod with_rustls {
    use std::sync::{Arc, OnceLock};

    pub use rustls;
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::ServerName;
    use rustls::ClientConfig;

    use super::{ClientTls, TlsError};
    use crate::handshake::ClientRequest;

    /// The client config `wss://` URLs get by default: the `webpki-roots`
    /// trust anchors, TLS 1.2 and 1.3, no client certificate.
    ///
    /// It uses the process-wide rustls `CryptoProvider` if one is
    /// installed, and *ring* otherwise. It is built once and shared.
    ///
    /// ```
    /// let config = rfc6455::tls::default_client_config()?;
    /// assert!(config.alpn_protocols.is_empty()); // WebSocket runs over HTTP/1.1
    /// # Ok::<(), rfc6455::TlsError>(())
    /// ```
    pub fn default_client_config() -> Result<Arc<ClientConfig>, TlsError> {
        static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
        if let Some(config) = DEFAULT.get() {
            return Ok(config.clone());
        }
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(DEFAULT.get_or_init(|| Arc::new(config)).clone())
    }

    impl ClientTls {
        /// The config, and the name the server's certificate must be valid
        /// for: the request's host, a DNS name or an IP address. Both are
        /// known before anything is connected.
        pub(crate) fn resolve(
            self,
            request: &ClientRequest,
        ) -> Result<(Arc<ClientConfig>, ServerName<'static>), TlsError> {
            let config = match self {
                ClientTls::Default => default_client_config()?,
                ClientTls::Config(config) => config,
            };
            let name = ServerName::try_from(request.host().to_owned())
                .map_err(|_| TlsError::InvalidServerName(request.host().to_owned()))?;
            Ok((config, name))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::TlsError;
    use crate::StreamError;

    /// Nothing listens on port 1: a connect that dials fails with an I/O
    /// error, so `NotEnabled` shows that nothing was dialed.
    const WSS_TO_A_CLOSED_PORT: &str = "wss://127.0.0.1:1/";

    fn is_not_enabled(e: &StreamError) -> bool {
        let tls = e.source().and_then(|e| e.downcast_ref::<TlsError>());
        matches!(tls, Some(TlsError::NotEnabled))
    }

    #[test]
    fn blocking_wss_is_not_enabled_without_the_feature_and_dials_with_it() {
        let error = crate::blocking::connect(WSS_TO_A_CLOSED_PORT).unwrap_err();
        assert_eq!(
            is_not_enabled(&error),
            cfg!(not(feature = "tls")),
            "{error:?}"
        );
    }

    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn tokio_wss_is_not_enabled_without_the_feature_and_dials_with_it() {
        let error = crate::tokio::connect(WSS_TO_A_CLOSED_PORT)
            .await
            .unwrap_err();
        assert_eq!(
            is_not_enabled(&error),
            cfg!(not(feature = "tls")),
            "{error:?}"
        );
    }
}
