//! Arbitrary bytes into the frame header decoder.
//!
//! - It never panics, and never reads past what the header needs.
//! - A decoded header re-encodes to the same bytes when the input used the
//!   shortest length form (the canonical encoding); otherwise to a shorter
//!   header that decodes to the same value.
//! - Every proper prefix of a header is `Partial`; 14 bytes always decide.
//! - The one error is a 64-bit length with its top bit set.
//! - The word-at-a-time mask agrees with the byte-wise one at any offset.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::frame::{apply_mask, apply_mask_bytewise, FrameHeader, OpCode, MAX_HEADER_LEN};
use rfc6455::{Parsed, ProtocolError};

fuzz_target!(|data: &[u8]| {
    match FrameHeader::parse(data) {
        Ok(Parsed::Complete(header, len)) => {
            assert!(len <= data.len() && len <= MAX_HEADER_LEN);
            assert!(header.rsv <= 0b111);
            assert_eq!(header.opcode, OpCode::from_bits(data[0]));
            assert_eq!(header.opcode.bits(), data[0] & 0x0F);
            assert_eq!(header.fin, data[0] & 0x80 != 0);
            assert_eq!(header.mask.is_some(), data[1] & 0x80 != 0);
            assert!(header.payload_len >> 63 == 0);

            let mut encoded = Vec::new();
            header.encode(&mut encoded);
            assert_eq!(encoded.len(), header.encoded_len());
            let canonical = match data[1] & 0x7F {
                126 => header.payload_len >= 126,
                127 => header.payload_len > 0xFFFF,
                _ => true,
            };
            if canonical {
                assert_eq!(
                    encoded,
                    data[..len],
                    "canonical header re-encodes differently"
                );
            } else {
                assert!(encoded.len() < len);
                assert_eq!(
                    FrameHeader::parse(&encoded),
                    Ok(Parsed::Complete(header, encoded.len()))
                );
            }
            // The header never depends on bytes after it, and needs them all.
            assert_eq!(
                FrameHeader::parse(&data[..len]),
                Ok(Parsed::Complete(header, len))
            );
            for cut in 0..len {
                assert_eq!(FrameHeader::parse(&data[..cut]), Ok(Parsed::Partial));
            }

            // Unmask what follows the header with its key, from an offset
            // taken from the input, both ways.
            if let Some(key) = header.mask {
                let offset = usize::from(data[0]);
                let mut fast = data[len..].to_vec();
                let mut slow = fast.clone();
                apply_mask(&mut fast, key, offset);
                apply_mask_bytewise(&mut slow, key, offset);
                assert_eq!(fast, slow, "apply_mask differs from apply_mask_bytewise");
                apply_mask(&mut fast, key, offset);
                assert_eq!(fast, data[len..], "masking twice is not the identity");
            }
        }
        Ok(Parsed::Partial) => assert!(data.len() < MAX_HEADER_LEN),
        Err(e) => {
            assert_eq!(e, ProtocolError::InvalidPayloadLength);
            assert!(data[1] & 0x7F == 127 && data[2] & 0x80 != 0);
        }
    }
});
