//! Which TLS client config a connection gets: the adapters' `connect`
//! functions share this choice.

#[cfg(feature = "tls")]
use std::sync::Arc;

#[cfg(feature = "tls")]
use rustls::{pki_types::ServerName, ClientConfig};

#[cfg(feature = "tls")]
use crate::handshake::ClientRequest;
#[cfg(feature = "tls")]
use crate::TlsError;

/// The TLS config for a `wss://` URL; `ws://` URLs ignore it.
#[derive(Clone)]
pub(crate) enum ClientTls {
    /// [`crate::tls::default_client_config`], or, without the `tls`
    /// feature, [`TlsError::NotEnabled`](crate::TlsError::NotEnabled).
    Default,
    /// The caller's.
    #[cfg(feature = "tls")]
    Config(Arc<ClientConfig>),
}

#[cfg(feature = "tls")]
impl ClientTls {
    /// The config and the name the server's certificate must match.
    pub(crate) fn resolve(
        self,
        request: &ClientRequest,
    ) -> Result<(Arc<ClientConfig>, ServerName<'static>), TlsError> {
        let config = match self {
            ClientTls::Default => crate::tls::default_client_config()?,
            ClientTls::Config(config) => config,
        };
        Ok((config, crate::tls::server_name(request)?))
    }
}
