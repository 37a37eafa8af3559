//! Why a TLS (`wss://`) connection could not be set up.

use std::fmt;

/// Why a TLS (`wss://`) connection could not be set up; inside
/// [`StreamError::Tls`](crate::StreamError::Tls).
///
/// ```
/// use rfc6455::{StreamError, TlsError};
///
/// fn explain(e: &StreamError) -> &'static str {
///     match e {
///         StreamError::Tls(TlsError::NotEnabled) => "rebuild with the `tls` feature",
///         StreamError::Tls(_) => "the TLS handshake failed",
///         _ => "something else",
///     }
/// }
/// assert_eq!(explain(&StreamError::Tls(TlsError::NotEnabled)), "rebuild with the `tls` feature");
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
