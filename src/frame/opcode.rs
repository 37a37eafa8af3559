//! Frame opcodes (RFC 6455 §5.2, §11.8).

use std::fmt;

/// The 4-bit opcode of a frame.
///
/// Reserved values are kept rather than rejected here, so that the frame
/// header parser stays a pure parser and the connection decides (and names)
/// the protocol error.
///
/// ```
/// use rfc6455::frame::OpCode;
/// assert_eq!(OpCode::from_bits(0x1), OpCode::Text);
/// assert!(OpCode::Ping.is_control());
/// assert_eq!(OpCode::from_bits(0x3), OpCode::Reserved(0x3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: continues a fragmented message.
    Continuation,
    /// `0x1`: the first frame of a text message.
    Text,
    /// `0x2`: the first frame of a binary message.
    Binary,
    /// `0x8`: starts or answers the closing handshake.
    Close,
    /// `0x9`: a ping; the peer answers with a pong.
    Ping,
    /// `0xA`: a pong.
    Pong,
    /// `0x3`–`0x7` and `0xB`–`0xF`: reserved for future use; receiving one
    /// fails the connection unless an extension defines it.
    Reserved(u8),
}

impl OpCode {
    /// Decodes the low four bits of `bits`.
    pub const fn from_bits(bits: u8) -> OpCode {
        match bits & 0x0F {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    /// The 4-bit wire value.
    pub const fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::Reserved(bits) => bits & 0x0F,
        }
    }

    /// Control opcodes have the high bit of the nibble set (§5.5).
    pub const fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }

    /// `true` for reserved opcodes.
    pub const fn is_reserved(self) -> bool {
        matches!(self, OpCode::Reserved(_))
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpCode::Continuation => f.write_str("continuation"),
            OpCode::Text => f.write_str("text"),
            OpCode::Binary => f.write_str("binary"),
            OpCode::Close => f.write_str("close"),
            OpCode::Ping => f.write_str("ping"),
            OpCode::Pong => f.write_str("pong"),
            OpCode::Reserved(bits) => write!(f, "reserved opcode {bits:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nibble_round_trips() {
        for bits in 0u8..16 {
            let op = OpCode::from_bits(bits);
            assert_eq!(op.bits(), bits);
            assert_eq!(op.is_control(), bits >= 8);
            assert_eq!(op.is_reserved(), matches!(bits, 3..=7 | 0xB..=0xF));
        }
    }
}
