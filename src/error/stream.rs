//! The error type of the adapters: the core's errors, the handshake's and
//! the transport's in one small value (24 bytes; the rare, large ones are
//! boxed).

use std::{fmt, io};

use crate::{handshake, Error, SendError, TlsError};

/// What an adapter call can fail with.
///
/// Which error comes from where:
///
/// | call | fails with |
/// |---|---|
/// | `ClientRequest::new`, its builders | [`handshake::BuildError`] (your input) |
/// | a server's request checks (`Request::from_http`, `parse_request`) | [`handshake::RequestError`], with the HTTP status answered |
/// | a client's connect | `StreamError::Handshake` holding a [`handshake::Error`]: `Build` (the URL), `Rejected` (a non-101 answer: status, headers, body), `Response` (a bad 101); `StreamError::Io`, `Tls`, `HandshakeTimeout` |
/// | a server's accept | `StreamError::Handshake` (a bad request, answered with its status), `Refused` (your hook said no), `HandshakeTimeout` |
/// | `recv`, `send` on an open connection | `Protocol` (the peer broke a rule; its close code was sent), `Send` (not allowed now), `Io`, `Closed` |
///
/// `?` turns a `BuildError` or a `handshake::Error` into a `StreamError`.
/// The connection's own [`Error`] sits in `Protocol`; a rule the peer broke
/// is one of its variants:
///
/// ```
/// use rfc6455::{Error, ProtocolError, StreamError};
///
/// fn describe(e: &StreamError) -> String {
///     match e {
///         StreamError::Protocol(Error::Protocol(ProtocolError::ReservedOpcode(op))) => {
///             format!("the peer used reserved opcode {op:#x}")
///         }
///         StreamError::Protocol(e) => format!("closed with {}: {e}", e.close_code()),
///         other => other.to_string(),
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// The transport failed.
    Io(io::Error),
    /// The opening handshake failed (boxed: it is rare and large).
    Handshake(Box<handshake::Error>),
    /// TLS (`wss://`) could not be set up: see [`TlsError`] (boxed: it
    /// holds a `rustls::Error`).
    Tls(Box<TlsError>),
    /// The peer broke the protocol or went away; the close frame (if any)
    /// was sent.
    Protocol(Error),
    /// The command is not allowed now.
    Send(SendError),
    /// Server: the accept hook refused the request; the refusal with this
    /// status was sent. (A client whose request the server refused gets
    /// [`handshake::Error::Rejected`] inside [`StreamError::Handshake`].)
    Refused {
        /// The HTTP status sent.
        status: u16,
    },
    /// The opening handshake did not complete within
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout); a
    /// server answered HTTP 408 before closing.
    HandshakeTimeout,
    /// The connection is closed; nothing more will come.
    Closed,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Io(e) => write!(f, "I/O error: {e}"),
            StreamError::Handshake(e) => write!(f, "handshake failed: {e}"),
            StreamError::Tls(e) => e.fmt(f),
            StreamError::Protocol(e) => write!(f, "connection failed: {e}"),
            StreamError::Send(e) => write!(f, "cannot send: {e}"),
            StreamError::Refused { status } => write!(f, "handshake refused with HTTP {status}"),
            StreamError::HandshakeTimeout => {
                f.write_str("the opening handshake did not complete within handshake_timeout")
            }
            StreamError::Closed => f.write_str("the connection is closed"),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Io(e) => Some(e),
            StreamError::Handshake(e) => Some(e),
            StreamError::Tls(e) => Some(e),
            StreamError::Protocol(e) => Some(e),
            StreamError::Send(e) => Some(e),
            StreamError::Refused { .. } | StreamError::HandshakeTimeout | StreamError::Closed => {
                None
            }
        }
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> StreamError {
        StreamError::Io(e)
    }
}

impl From<handshake::Error> for StreamError {
    fn from(e: handshake::Error) -> StreamError {
        match e {
            handshake::Error::Timeout => StreamError::HandshakeTimeout,
            handshake::Error::Refused { status } => StreamError::Refused { status },
            e => StreamError::Handshake(Box::new(e)),
        }
    }
}

impl From<Error> for StreamError {
    fn from(e: Error) -> StreamError {
        StreamError::Protocol(e)
    }
}

impl From<SendError> for StreamError {
    fn from(e: SendError) -> StreamError {
        StreamError::Send(e)
    }
}

impl From<TlsError> for StreamError {
    fn from(e: TlsError) -> StreamError {
        StreamError::Tls(Box::new(e))
    }
}

impl From<handshake::BuildError> for StreamError {
    fn from(e: handshake::BuildError) -> StreamError {
        handshake::Error::Build(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_error_is_at_most_24_bytes() {
        // Every adapter call returns it: keep the `Result` three words.
        assert!(std::mem::size_of::<StreamError>() <= 24);
        assert!(std::mem::size_of::<Result<(), StreamError>>() <= 24);
    }
}
