//! Close codes and close frames (RFC 6455 §5.5.1, §7.4).

use std::fmt;

use bytes::{BufMut, Bytes};

use crate::{Error, ProtocolError, SendError, Utf8Bytes};

/// The longest close reason: a control payload is at most 125 bytes and
/// the code takes two.
pub const MAX_REASON_LEN: usize = 123;

/// A close status code (RFC 6455 §7.4).
///
/// ```
/// use rfc6455::CloseCode;
/// assert!(CloseCode::NORMAL.is_sendable());
/// assert!(CloseCode::from(4000).is_sendable()); // private use
/// assert!(!CloseCode::NO_STATUS.is_sendable()); // never on the wire
/// assert!(!CloseCode::from(2000).is_sendable()); // reserved
/// ```
///
/// Debug output names the code, so logs and test failures read without a
/// table: `CloseCode(1000 NORMAL)` for a code with a constant here,
/// otherwise its range: `CloseCode(4001 private use)`.
///
/// ```
/// use rfc6455::CloseCode;
/// assert_eq!(format!("{:?}", CloseCode::GOING_AWAY), "CloseCode(1001 GOING_AWAY)");
/// assert_eq!(format!("{:?}", CloseCode(4001)), "CloseCode(4001 private use)");
/// assert_eq!(CloseCode::GOING_AWAY.to_string(), "1001");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no code was present. Reported locally, never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a close frame. Reported
    /// locally, never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with its type, such as invalid UTF-8 text.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not accept.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway got a bad response upstream (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed. Reported locally, never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether the code may appear in a close frame on the wire: the
    /// defined codes except 1005, 1006 and 1015, and the ranges 3000–3999
    /// (registered) and 4000–4999 (private use). Everything else is
    /// reserved, and receiving it is a protocol error.
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl CloseCode {
    /// What Debug prints after the number: the constant's name, or the
    /// range the code falls in (RFC 6455 §7.4.2).
    fn label(self) -> &'static str {
        match self.0 {
            1000 => "NORMAL",
            1001 => "GOING_AWAY",
            1002 => "PROTOCOL_ERROR",
            1003 => "UNSUPPORTED_DATA",
            1005 => "NO_STATUS",
            1006 => "ABNORMAL",
            1007 => "INVALID_PAYLOAD",
            1008 => "POLICY_VIOLATION",
            1009 => "MESSAGE_TOO_BIG",
            1010 => "MANDATORY_EXTENSION",
            1011 => "INTERNAL_ERROR",
            1012 => "SERVICE_RESTART",
            1013 => "TRY_AGAIN_LATER",
            1014 => "BAD_GATEWAY",
            1015 => "TLS_HANDSHAKE",
            0..=999 => "unused",
            3000..=3999 => "registered",
            4000..=4999 => "private use",
            _ => "reserved",
        }
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({} {})", self.0, self.label())
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The payload of a close frame that carried a status code.
///
/// A close frame with an empty payload is represented as `None` where a
/// `CloseFrame` is optional.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most [`MAX_REASON_LEN`] bytes of UTF-8.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// A close frame with `code` and `reason`.
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> CloseFrame {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }

    /// Decodes and validates a received close payload (§5.5.1, §7.4).
    ///
    /// Empty means "no status".
    ///
    /// # Errors
    ///
    /// The [`Error`] the connection fails with: one byte, or a code that
    /// may not be sent, is [`Error::Protocol`] (close code 1002); a reason
    /// that is not UTF-8 is [`Error::InvalidCloseReason`] (1007).
    pub fn parse(payload: Bytes) -> Result<Option<CloseFrame>, Error> {
        match payload.len() {
            0 => Ok(None),
            1 => Err(ProtocolError::CloseFrameTooShort.into()),
            _ => {
                let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
                if !code.is_sendable() {
                    return Err(ProtocolError::InvalidCloseCode(code.0).into());
                }
                let reason = Utf8Bytes::try_from(payload.slice(2..))
                    .map_err(|_| Error::InvalidCloseReason)?;
                Ok(Some(CloseFrame { code, reason }))
            }
        }
    }

    /// Checks that a close frame with `code` and `reason` may be sent: a
    /// code allowed on the wire ([`CloseCode::is_sendable`], RFC 6455
    /// §7.4) and a reason of at most [`MAX_REASON_LEN`] bytes (§5.5). The
    /// one place these rules are applied to what we send.
    pub(crate) fn check_sendable(code: CloseCode, reason: &str) -> Result<(), SendError> {
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(SendError::CloseReasonTooLong(reason.len()));
        }
        Ok(())
    }

    /// The frame payload: the code in network order, then the reason.
    pub(crate) fn encode(&self, dst: &mut impl BufMut) {
        dst.put_u16(self.code.0);
        dst.put_slice(self.reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_match_the_registry() {
        let valid = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ];
        let invalid = [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ];
        for code in valid {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        for code in invalid {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn debug_names_the_code() {
        let named = [
            (CloseCode::NORMAL, "CloseCode(1000 NORMAL)"),
            (CloseCode::PROTOCOL_ERROR, "CloseCode(1002 PROTOCOL_ERROR)"),
            (CloseCode::NO_STATUS, "CloseCode(1005 NO_STATUS)"),
            (
                CloseCode::MESSAGE_TOO_BIG,
                "CloseCode(1009 MESSAGE_TOO_BIG)",
            ),
            (CloseCode::TLS_HANDSHAKE, "CloseCode(1015 TLS_HANDSHAKE)"),
            (CloseCode(999), "CloseCode(999 unused)"),
            (CloseCode(1004), "CloseCode(1004 reserved)"),
            (CloseCode(1016), "CloseCode(1016 reserved)"),
            (CloseCode(3000), "CloseCode(3000 registered)"),
            (CloseCode(4999), "CloseCode(4999 private use)"),
            (CloseCode(5000), "CloseCode(5000 reserved)"),
        ];
        for (code, debug) in named {
            assert_eq!(format!("{code:?}"), debug);
        }
        // Inside other Debug output too.
        assert_eq!(
            format!("{:?}", CloseFrame::new(CloseCode(4001), "bye")),
            r#"CloseFrame { code: CloseCode(4001 private use), reason: "bye" }"#
        );
    }

    #[test]
    fn parses_close_payloads() {
        assert_eq!(CloseFrame::parse(Bytes::new()), Ok(None));
        assert_eq!(
            CloseFrame::parse(Bytes::from_static(&[0x03])),
            Err(ProtocolError::CloseFrameTooShort.into())
        );
        assert_eq!(
            CloseFrame::parse(Bytes::from_static(&[0x03, 0xE8, b'o', b'k'])),
            Ok(Some(CloseFrame::new(CloseCode::NORMAL, "ok")))
        );
        assert_eq!(
            CloseFrame::parse(Bytes::from_static(&[0x03, 0xED])), // 1005
            Err(Error::Protocol(ProtocolError::InvalidCloseCode(1005)))
        );
        assert_eq!(
            CloseFrame::parse(Bytes::from_static(&[0x03, 0xE8, 0xFF])),
            Err(Error::InvalidCloseReason)
        );
    }
}
