//! [`ReconnectError`]: what a reconnecting client's calls fail with.

use std::fmt;

use crate::{CloseCode, Message, StreamError};

/// What a [`ReconnectingClient`](super::ReconnectingClient) (or one of its
/// split halves) call can fail with.
///
/// ```no_run
/// use rfc6455::tokio::reconnect::{ReconnectError, ReconnectingClient};
///
/// # async fn demo(client: &mut ReconnectingClient) {
/// match client.send("hello").await {
///     Ok(()) => {}
///     // Not sent: keep it and try again once the client is open.
///     Err(ReconnectError::NotConnected(message)) => drop(message),
///     Err(error) => eprintln!("{error}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ReconnectError {
    /// `send` found no open connection (the client is connecting, waiting
    /// to reconnect, or its connection is closing). The message was not
    /// sent and is handed back.
    NotConnected(Message),
    /// `ping` or `pong` found no open connection: nothing was sent. (A
    /// data message comes back in [`NotConnected`](Self::NotConnected)
    /// instead.)
    NoConnection,
    /// The open connection failed while sending, or the message or close
    /// code was refused. `recv` reconnects if the connection is gone; the
    /// message may or may not have reached the peer.
    Stream(StreamError),
    /// [`Builder::max_attempts`](super::Builder::max_attempts) connection
    /// attempts in a row failed; the last one failed with `last`. The
    /// client is closed.
    GaveUp {
        /// How many attempts failed in a row.
        attempts: u32,
        /// Why the last one failed.
        last: StreamError,
    },
    /// The server closed with `code`, after which the
    /// [`Retry`](super::Retry) policy says [`Stop`](super::Retry::Stop)
    /// (by default 1008, Policy Violation). The client is closed. (Not
    /// "refused": in this crate a refusal is a non-101 handshake answer.)
    Stopped {
        /// The server's close code.
        code: CloseCode,
    },
    /// The client is closed: `close` was called, it gave up earlier, or
    /// (for a split writer) the reader was dropped.
    Closed,
}

impl fmt::Display for ReconnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconnectError::NotConnected(_) => {
                f.write_str("not connected: the message was not sent")
            }
            ReconnectError::NoConnection => {
                f.write_str("not connected: the control frame was not sent")
            }
            ReconnectError::Stream(e) => fmt::Display::fmt(e, f),
            ReconnectError::GaveUp { attempts, last } => {
                write!(f, "gave up after {attempts} failed attempts: {last}")
            }
            ReconnectError::Stopped { code } => write!(
                f,
                "the server closed with {code}, after which the retry policy does not reconnect"
            ),
            ReconnectError::Closed => f.write_str("the client is closed"),
        }
    }
}

impl std::error::Error for ReconnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReconnectError::Stream(e) | ReconnectError::GaveUp { last: e, .. } => Some(e),
            ReconnectError::NotConnected(_)
            | ReconnectError::NoConnection
            | ReconnectError::Stopped { .. }
            | ReconnectError::Closed => None,
        }
    }
}

impl From<StreamError> for ReconnectError {
    fn from(e: StreamError) -> ReconnectError {
        ReconnectError::Stream(e)
    }
}
