//! Errors, split by blame.
//!
//! - [`Error`]: the peer broke a rule, went away or went silent. Returned
//!   by [`Connection::poll_event`](crate::Connection::poll_event); the
//!   connection has already queued the matching close frame.
//! - [`SendError`]: the local caller asked for something the protocol does
//!   not allow. Nothing was queued; the connection is unchanged.
//! - [`handshake::Error`](crate::handshake::Error): the HTTP upgrade failed
//!   (itself split by blame: the request, the response, local input).
//! - [`StreamError`]: what an adapter call fails with; one of the above,
//!   or I/O, or TLS.

use std::fmt;

use crate::CloseCode;

mod stream;

pub use stream::StreamError;

/// A rule of RFC 6455 the peer broke. Each fails the connection with close
/// code 1002 (protocol error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV1–3 set without a negotiated extension that defines them (§5.2).
    ReservedBits(u8),
    /// An opcode reserved for future use (§5.2).
    ReservedOpcode(u8),
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A control frame payload over 125 bytes (§5.5).
    ControlFrameTooLarge(u64),
    /// A continuation frame with no fragmented message to continue (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is unfinished
    /// (§5.4).
    ExpectedContinuation,
    /// A server received an unmasked frame (§5.1).
    UnmaskedFrame,
    /// A client received a masked frame (§5.1).
    MaskedFrame,
    /// A 64-bit payload length with its most significant bit set (§5.2).
    InvalidPayloadLength,
    /// A close payload of one byte (§5.5.1).
    CloseFrameTooShort,
    /// A close code that may not be sent (§7.4).
    InvalidCloseCode(u16),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedBits(rsv) => write!(
                f,
                "reserved bits {rsv:#05b} set without a negotiated extension (RFC 6455 §5.2)"
            ),
            ProtocolError::ReservedOpcode(op) => {
                write!(f, "reserved opcode {op:#x} (RFC 6455 §5.2)")
            }
            ProtocolError::FragmentedControlFrame => {
                f.write_str("control frame without FIN: control frames must not be fragmented (RFC 6455 §5.5)")
            }
            ProtocolError::ControlFrameTooLarge(len) => write!(
                f,
                "control frame payload of {len} bytes exceeds 125 (RFC 6455 §5.5)"
            ),
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message to continue (RFC 6455 §5.4)")
            }
            ProtocolError::ExpectedContinuation => f.write_str(
                "new data frame inside a fragmented message; expected a continuation (RFC 6455 §5.4)",
            ),
            ProtocolError::UnmaskedFrame => {
                f.write_str("unmasked frame from a client (RFC 6455 §5.1)")
            }
            ProtocolError::MaskedFrame => f.write_str("masked frame from a server (RFC 6455 §5.1)"),
            ProtocolError::InvalidPayloadLength => f.write_str(
                "64-bit payload length with the most significant bit set (RFC 6455 §5.2)",
            ),
            ProtocolError::CloseFrameTooShort => {
                f.write_str("close frame payload of one byte (RFC 6455 §5.5.1)")
            }
            ProtocolError::InvalidCloseCode(code) => {
                write!(f, "close code {code} may not be sent (RFC 6455 §7.4)")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Why the connection failed on the peer's side.
///
/// Each error maps to the close code that was sent (or, for 1006, not
/// sent) through [`Error::close_code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the framing rules: close code 1002.
    Protocol(ProtocolError),
    /// A text message was not UTF-8: close code 1007 (§8.1).
    InvalidUtf8,
    /// A close frame's reason was not UTF-8: close code 1007 (§5.5.1).
    InvalidCloseReason,
    /// A compressed message did not inflate (RFC 7692 §6.2): close code
    /// 1007.
    InvalidCompressedData,
    /// A frame announced a payload over `Config::max_frame_size`: close
    /// code 1009.
    FrameTooLarge {
        /// The announced payload length.
        len: u64,
    },
    /// A message grew past `Config::max_message_size`: close code 1009.
    MessageTooLarge {
        /// The size the message would have reached.
        len: u64,
    },
    /// A fragmented message carried more than `Config::max_empty_fragments`
    /// non-final frames without payload, a flood that costs the peer a few
    /// bytes each and never completes a message: close code 1008.
    TooManyEmptyFragments {
        /// The configured limit.
        limit: usize,
    },
    /// The transport closed before the closing handshake: 1006, not sent.
    AbnormalClosure,
    /// No byte arrived within the pong timeout after a keepalive ping:
    /// close code 1011.
    KeepaliveTimeout,
    /// The peer did not answer our close frame within the close timeout:
    /// 1006, not sent (our close frame already was).
    CloseTimeout,
}

impl Error {
    /// The close code this failure is reported with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Error::Protocol(_) => CloseCode::PROTOCOL_ERROR,
            Error::InvalidUtf8 | Error::InvalidCloseReason | Error::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            Error::FrameTooLarge { .. } | Error::MessageTooLarge { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            Error::TooManyEmptyFragments { .. } => CloseCode::POLICY_VIOLATION,
            Error::AbnormalClosure | Error::CloseTimeout => CloseCode::ABNORMAL,
            Error::KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
        }
    }

    /// The short reason sent in the close frame.
    pub(crate) fn close_reason(&self) -> &'static str {
        match self {
            Error::Protocol(_) => "protocol error",
            Error::InvalidUtf8 => "invalid UTF-8 in text",
            Error::InvalidCloseReason => "invalid UTF-8 in close reason",
            Error::InvalidCompressedData => "invalid compressed data",
            Error::FrameTooLarge { .. } => "frame too large",
            Error::MessageTooLarge { .. } => "message too large",
            Error::TooManyEmptyFragments { .. } => "too many empty fragments",
            Error::KeepaliveTimeout => "keepalive timeout",
            Error::AbnormalClosure | Error::CloseTimeout => "",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::InvalidUtf8 => f.write_str("text message is not valid UTF-8 (RFC 6455 §8.1)"),
            Error::InvalidCloseReason => {
                f.write_str("close reason is not valid UTF-8 (RFC 6455 §5.5.1)")
            }
            Error::InvalidCompressedData => {
                f.write_str("compressed message does not inflate (RFC 7692 §6.2)")
            }
            Error::FrameTooLarge { len } => {
                write!(f, "frame payload of {len} bytes exceeds max_frame_size")
            }
            Error::MessageTooLarge { len } => {
                write!(
                    f,
                    "message of at least {len} bytes exceeds max_message_size"
                )
            }
            Error::TooManyEmptyFragments { limit } => write!(
                f,
                "more than {limit} empty non-final fragments in one message (max_empty_fragments)"
            ),
            Error::AbnormalClosure => f.write_str(
                "connection closed without a closing handshake (RFC 6455 §7.1.5, code 1006)",
            ),
            Error::KeepaliveTimeout => {
                f.write_str("peer sent nothing within the pong timeout after a keepalive ping")
            }
            Error::CloseTimeout => {
                f.write_str("peer did not answer the close frame within the close timeout")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        Error::Protocol(e)
    }
}

/// A command the protocol does not allow in the connection's state.
///
/// Nothing was queued; the connection is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was sent or received: no more frames may be sent
    /// (§5.5.1).
    Closed,
    /// Ping, pong and close payloads are at most 125 bytes (§5.5).
    ControlPayloadTooLarge(usize),
    /// The close code may not be sent (§7.4).
    InvalidCloseCode(u16),
    /// The close reason exceeds 123 bytes (§5.5).
    CloseReasonTooLong(usize),
    /// A whole message was sent while a fragmented one is unfinished
    /// (§5.4).
    FragmentedMessageInProgress,
    /// A fragment continued a message of the other kind.
    FragmentKindMismatch,
    /// A text fragment sequence is not UTF-8.
    InvalidUtf8,
    /// Queued bytes would pass `Config::max_send_queue`; wait for the
    /// transport to drain.
    QueueFull {
        /// Bytes queued now.
        buffered: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => {
                f.write_str("the connection is closing or closed: nothing more may be sent")
            }
            SendError::ControlPayloadTooLarge(len) => write!(
                f,
                "control frame payload of {len} bytes exceeds 125 (RFC 6455 §5.5)"
            ),
            SendError::InvalidCloseCode(code) => {
                write!(f, "close code {code} may not be sent (RFC 6455 §7.4)")
            }
            SendError::CloseReasonTooLong(len) => {
                write!(f, "close reason of {len} bytes exceeds 123 (RFC 6455 §5.5)")
            }
            SendError::FragmentedMessageInProgress => {
                f.write_str("a fragmented message is unfinished (RFC 6455 §5.4)")
            }
            SendError::FragmentKindMismatch => {
                f.write_str("a fragment must continue the message kind it started with")
            }
            SendError::InvalidUtf8 => f.write_str("text fragments are not valid UTF-8"),
            SendError::QueueFull { buffered } => {
                write!(f, "{buffered} bytes already queued: max_send_queue reached")
            }
        }
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_small() {
        assert!(std::mem::size_of::<Error>() <= 16);
        assert!(std::mem::size_of::<SendError>() <= 16);
    }
}
