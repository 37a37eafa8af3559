//! WebSocket frames (RFC 6455 §5): opcodes, headers and masking.
//!
//! These are the building blocks of [`Connection`](crate::Connection); most
//! users never touch them directly.

mod header;
mod mask;
mod opcode;
mod parsed;

pub use header::{FrameHeader, MAX_HEADER_LEN, RSV1, RSV2, RSV3};
pub(crate) use mask::xor_words;
pub use mask::{apply_mask, apply_mask_bytewise};
pub use opcode::OpCode;
pub use parsed::Parsed;
