//! The frame header (RFC 6455 §5.2): parse from and encode to bytes.

use bytes::BufMut;

use super::OpCode;
use crate::{Parsed, ProtocolError};

/// The largest header: 2 fixed bytes, 8 length bytes, 4 mask bytes.
pub const MAX_HEADER_LEN: usize = 14;

/// The `RSV1` bit, used by permessage-deflate (RFC 7692).
pub const RSV1: u8 = 0b100;
/// The `RSV2` bit.
pub const RSV2: u8 = 0b010;
/// The `RSV3` bit.
pub const RSV3: u8 = 0b001;

/// A decoded frame header.
///
/// ```
/// use rfc6455::frame::{FrameHeader, OpCode};
/// use rfc6455::Parsed;
///
/// // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
/// let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// let Parsed::Complete(header, len) = FrameHeader::parse(&bytes)? else { unreachable!() };
/// assert_eq!((header.fin, header.opcode, header.payload_len, len), (true, OpCode::Text, 5, 2));
/// assert_eq!(FrameHeader::parse(&bytes[..1])?, Parsed::Partial);
/// # Ok::<(), rfc6455::ProtocolError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// The three reserved bits as `RSV1 << 2 | RSV2 << 1 | RSV3`.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on every client-to-server frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A final, unmasked frame with no reserved bits.
    pub fn new(opcode: OpCode, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Parses a header from the start of `buf`.
    ///
    /// Reads only the bytes the header needs and never panics. Returns
    /// [`Parsed::Partial`] while `buf` is shorter than the header. The one
    /// error is a 64-bit length with its most significant bit set, which
    /// §5.2 forbids.
    pub fn parse(buf: &[u8]) -> Result<Parsed<FrameHeader>, ProtocolError> {
        let [first, second, ..] = *buf else {
            return Ok(Parsed::Partial);
        };
        let masked = second & 0x80 != 0;
        let (payload_len, mut len) = match second & 0x7F {
            126 => match buf.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(Parsed::Partial),
            },
            127 => match buf.get(2..10) {
                Some(b) => {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(b);
                    let n = u64::from_be_bytes(word);
                    if n >> 63 != 0 {
                        return Err(ProtocolError::InvalidPayloadLength);
                    }
                    (n, 10)
                }
                None => return Ok(Parsed::Partial),
            },
            short => (u64::from(short), 2),
        };
        let mask = if masked {
            match buf.get(len..len + 4) {
                Some(b) => {
                    len += 4;
                    Some([b[0], b[1], b[2], b[3]])
                }
                None => return Ok(Parsed::Partial),
            }
        } else {
            None
        };
        let header = FrameHeader {
            fin: first & 0x80 != 0,
            rsv: (first >> 4) & 0b111,
            opcode: OpCode::from_bits(first),
            mask,
            payload_len,
        };
        Ok(Parsed::Complete(header, len))
    }

    /// The number of bytes [`FrameHeader::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let length_bytes = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + length_bytes + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Appends the header to `dst`, with the length in its shortest form.
    ///
    /// ```
    /// use rfc6455::frame::{FrameHeader, OpCode};
    /// let mut out = Vec::new();
    /// FrameHeader::new(OpCode::Binary, 256).encode(&mut out);
    /// assert_eq!(out, [0x82, 0x7E, 0x01, 0x00]); // RFC 6455 §5.7
    /// ```
    pub fn encode(&self, dst: &mut impl BufMut) {
        let first = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | self.opcode.bits();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        dst.put_u8(first);
        match self.payload_len {
            n @ 0..=125 => dst.put_u8(mask_bit | n as u8),
            n @ 126..=0xFFFF => {
                dst.put_u8(mask_bit | 126);
                dst.put_u16(n as u16);
            }
            n => {
                dst.put_u8(mask_bit | 127);
                dst.put_u64(n);
            }
        }
        if let Some(key) = self.mask {
            dst.put_slice(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn complete(bytes: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::parse(bytes).unwrap() {
            Parsed::Complete(h, n) => (h, n),
            Parsed::Partial => panic!("partial"),
        }
    }

    #[test]
    fn rfc_5_7_examples() {
        // Unmasked "Hello".
        let (h, n) = complete(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len, n),
            (true, OpCode::Text, None, 5, 2)
        );
        // Masked "Hello".
        let (h, n) = complete(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f]);
        assert_eq!(
            (h.mask, h.payload_len, n),
            (Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6)
        );
        // Fragmented: "Hel" then "lo".
        let (h, _) = complete(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert_eq!((h.fin, h.opcode), (false, OpCode::Text));
        let (h, _) = complete(&[0x80, 0x02, 0x6c, 0x6f]);
        assert_eq!((h.fin, h.opcode), (true, OpCode::Continuation));
        // Unmasked ping and masked pong.
        assert_eq!(complete(&[0x89, 0x05]).0.opcode, OpCode::Ping);
        assert_eq!(complete(&[0x8a, 0x85, 1, 2, 3, 4]).0.opcode, OpCode::Pong);
        // 256 bytes and 64 KiB binary messages.
        assert_eq!(
            complete(&[0x82, 0x7E, 0x01, 0x00]),
            (FrameHeader::new(OpCode::Binary, 256), 4)
        );
        let big = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_eq!(
            complete(&big),
            (FrameHeader::new(OpCode::Binary, 65536), 10)
        );
    }

    #[test]
    fn every_truncation_is_partial() {
        let mut bytes = Vec::new();
        let header = FrameHeader {
            fin: false,
            rsv: RSV1 | RSV3,
            opcode: OpCode::Binary,
            mask: Some([9, 8, 7, 6]),
            payload_len: 1 << 40,
        };
        header.encode(&mut bytes);
        assert_eq!(bytes.len(), MAX_HEADER_LEN);
        for cut in 0..bytes.len() {
            assert_eq!(FrameHeader::parse(&bytes[..cut]).unwrap(), Parsed::Partial);
        }
        assert_eq!(complete(&bytes), (header, 14));
    }

    #[test]
    fn top_bit_of_64_bit_length_is_an_error() {
        let bytes = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            FrameHeader::parse(&bytes),
            Err(ProtocolError::InvalidPayloadLength)
        );
    }

    fn any_header() -> impl Strategy<Value = FrameHeader> {
        (
            any::<bool>(),
            0u8..8,
            0u8..16,
            any::<Option<[u8; 4]>>(),
            prop_oneof![0u64..200, 0u64..70000, 0u64..(1 << 63)],
        )
            .prop_map(|(fin, rsv, op, mask, payload_len)| FrameHeader {
                fin,
                rsv,
                opcode: OpCode::from_bits(op),
                mask,
                payload_len,
            })
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(header in any_header(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut bytes = Vec::new();
            header.encode(&mut bytes);
            prop_assert_eq!(bytes.len(), header.encoded_len());
            bytes.extend_from_slice(&tail);
            prop_assert_eq!(FrameHeader::parse(&bytes).unwrap(), Parsed::Complete(header, header.encoded_len()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            if let Ok(Parsed::Complete(_, n)) = FrameHeader::parse(&bytes) {
                prop_assert!(n <= bytes.len() && n <= MAX_HEADER_LEN);
            }
        }
    }
}
