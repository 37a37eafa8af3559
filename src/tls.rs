//! TLS for `wss://` (feature `tls`): the rustls glue both adapters share.
//!
//! The adapters connect `wss://` URLs through rustls, verifying the server
//! against the Mozilla roots of `webpki-roots` ([`default_client_config`]),
//! or against a `rustls::ClientConfig` of your own:
//! `blocking::connect_tls` and `tokio::connect_tls`. Servers take a
//! `rustls::ServerConfig`: `blocking::accept_tls` and `tokio::accept_tls`.
//! TLS changes only the stream: the WebSocket handshake and protocol run
//! unchanged on top.
//!
//! [`rustls`] is re-exported so that your configs come from the same
//! version this crate uses.
//!
//! ```no_run
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
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::sync::{Arc, OnceLock};

pub use rustls;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;

use crate::handshake::ClientRequest;
use crate::{StreamError, TlsError};

/// The client config `wss://` URLs get by default: the `webpki-roots`
/// trust anchors, TLS 1.2 and 1.3, no client certificate.
///
/// It uses the process-wide rustls `CryptoProvider` if one is installed,
/// and *ring* otherwise. It is built once and shared.
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

/// The name a `wss://` request's certificate must be valid for: its host,
/// a DNS name or an IP address.
pub(crate) fn server_name(request: &ClientRequest) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(request.host().to_owned())
        .map_err(|_| TlsError::InvalidServerName(request.host().to_owned()))
}

/// An I/O error that rustls raised (during the handshake, say) becomes
/// [`StreamError::Tls`]; any other stays [`StreamError::Io`].
pub(crate) fn io_error(e: io::Error) -> StreamError {
    if !e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return StreamError::Io(e);
    }
    match e
        .into_inner()
        .map(|inner| inner.downcast::<rustls::Error>())
    {
        Some(Ok(tls)) => StreamError::Tls(TlsError::Rustls(*tls)),
        // Checked just above; kept total all the same.
        Some(Err(inner)) => StreamError::Io(io::Error::new(io::ErrorKind::InvalidData, inner)),
        None => StreamError::Io(io::Error::from(io::ErrorKind::InvalidData)),
    }
}

/// [`io_error`] over an adapter's result.
pub(crate) fn stream_error(e: StreamError) -> StreamError {
    match e {
        StreamError::Io(e) => io_error(e),
        other => other,
    }
}
