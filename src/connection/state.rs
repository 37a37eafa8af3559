//! The observable lifecycle of a connection.

use crate::{CloseCode, Utf8Bytes};

/// Where a connection is in its lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's. Incoming messages are
    /// still delivered; nothing more can be sent.
    Closing,
    /// The closing handshake finished, or the connection failed.
    Closed(CloseStatus),
}

/// How a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseStatus {
    /// The code that ended it: the peer's close code when it closed
    /// (1005 if it gave none), ours when we failed the connection, 1006 when
    /// the transport went away without a close frame.
    pub code: CloseCode,
    /// The reason that went with `code`.
    pub reason: Utf8Bytes,
    /// `true` when close frames went both ways: the closing handshake
    /// completed.
    pub clean: bool,
    /// `true` when this side started the close (or failed the connection).
    pub initiated_locally: bool,
}

impl State {
    /// `true` in [`State::Open`].
    pub fn is_open(&self) -> bool {
        matches!(self, State::Open)
    }

    /// `true` in [`State::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, State::Closed(_))
    }
}
