//! Helpers shared by the fuzz targets: cutting input into chunks, taking
//! bytes out of a connection, and checking what a connection writes.
//!
//! Everything goes through the crate's public API.

#![forbid(unsafe_code)]

use bytes::Buf;
use rfc6455::frame::{apply_mask, FrameHeader, OpCode, RSV1};
use rfc6455::{CloseCode, Connection, Parsed, Role};

pub mod handshake;
pub mod recv;

/// A tiny deterministic generator (xorshift32), so that one input byte can
/// stand for a whole sequence of chunk sizes the fuzzer can vary.
#[derive(Clone, Debug)]
pub struct Splitter {
    state: u32,
}

impl Splitter {
    /// A generator seeded with `seed` (any value, 0 included).
    pub fn new(seed: u8) -> Splitter {
        Splitter {
            state: 0x9E37_79B9 ^ (u32::from(seed) << 8 | u32::from(seed)),
        }
    }

    /// The next pseudo-random number.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        x
    }

    /// Cuts `data` into chunks: `seed` 0 keeps it whole, other seeds give
    /// chunks of 1 to `max` bytes (`max` itself varies with the seed).
    pub fn chunks(seed: u8, data: &[u8]) -> Vec<&[u8]> {
        if seed == 0 || data.is_empty() {
            return vec![data];
        }
        let mut gen = Splitter::new(seed);
        // Small maxima split headers and multi-byte characters apart.
        let max = [1usize, 2, 3, 5, 7, 16, 64, 300][usize::from(seed & 7)];
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let n = (1 + gen.next_u32() as usize % max).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            out.push(chunk);
            rest = tail;
        }
        out
    }
}

/// Takes up to `max` queued bytes out of `conn`'s transmit queue, the way an
/// adapter does: write `chunk()`, then `advance` by what was written.
pub fn take_output(conn: &mut Connection, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let queued_before = conn.buffered_amount();
    let remaining_before = conn.transmit().remaining();
    while out.len() < max {
        let outgoing = conn.transmit();
        if !outgoing.has_remaining() {
            break;
        }
        let chunk = outgoing.chunk();
        assert!(
            !chunk.is_empty(),
            "chunk() is empty with {} bytes remaining",
            outgoing.remaining()
        );
        let n = chunk.len().min(max - out.len());
        out.extend_from_slice(&chunk[..n]);
        outgoing.advance(n);
    }
    assert!(conn.transmit().remaining() <= remaining_before);
    // A held pong may join the queue once it drains, so only a queue that
    // still has bytes must have shrunk by exactly what was taken.
    if conn.transmit().has_remaining() {
        assert_eq!(conn.buffered_amount() + out.len(), queued_before);
    }
    out
}

/// One frame a connection wrote, payload unmasked.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The header as written.
    pub header: FrameHeader,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The close code of a close frame, `None` for an empty payload.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self.payload[..] {
            [a, b, ..] => Some(CloseCode(u16::from_be_bytes([a, b]))),
            _ => None,
        }
    }
}

/// A complete message read back from the wire, compression undone by the
/// caller if needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireMessage {
    /// Text (`true`) or binary.
    pub text: bool,
    /// RSV1 was set on its first frame.
    pub compressed: bool,
    /// The payloads of its frames, concatenated.
    pub payload: Vec<u8>,
}

/// Reassembles and checks the byte stream one connection writes: every
/// frame must be one a correct endpoint in `role` may send (RFC 6455 §5).
#[derive(Debug)]
pub struct Wire {
    role: Role,
    deflate: bool,
    buf: Vec<u8>,
    /// A fragmented message being written.
    message: Option<WireMessage>,
    /// A close frame was written: nothing may follow it.
    pub closed: bool,
    /// Every frame written, in order.
    pub frames: Vec<Frame>,
    /// Every complete data message written, in order.
    pub messages: Vec<WireMessage>,
    /// The largest frame payload written.
    pub max_frame_len: u64,
    /// The most empty non-final data frames written in one message.
    pub max_empty_fragments: usize,
    empty_fragments: usize,
}

impl Wire {
    /// The stream of an endpoint in `role`, with permessage-deflate in use
    /// or not.
    pub fn new(role: Role, deflate: bool) -> Wire {
        Wire {
            role,
            deflate,
            buf: Vec::new(),
            message: None,
            closed: false,
            frames: Vec::new(),
            messages: Vec::new(),
            max_frame_len: 0,
            max_empty_fragments: 0,
            empty_fragments: 0,
        }
    }

    /// Bytes written but not yet a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Adds written bytes; checks each frame they complete.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        loop {
            let (header, len) = match FrameHeader::parse(&self.buf) {
                Ok(Parsed::Complete(header, len)) => (header, len),
                Ok(Parsed::Partial) => return,
                Err(e) => panic!("wrote an invalid frame header: {e}"),
            };
            // A receiver judges a frame by its header, before the payload.
            self.max_frame_len = self.max_frame_len.max(header.payload_len);
            let Some(end) = usize::try_from(header.payload_len)
                .ok()
                .and_then(|n| n.checked_add(len))
                .filter(|&end| end <= self.buf.len())
            else {
                return;
            };
            let mut payload = self.buf[len..end].to_vec();
            self.buf.drain(..end);
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key, 0);
            }
            self.check(Frame { header, payload });
        }
    }

    fn check(&mut self, frame: Frame) {
        let h = frame.header;
        assert!(!self.closed, "wrote a frame after the close frame: {h:?}");
        match self.role {
            Role::Client => assert!(h.mask.is_some(), "client wrote an unmasked frame"),
            Role::Server => assert!(h.mask.is_none(), "server wrote a masked frame"),
        }
        assert!(!h.opcode.is_reserved(), "wrote a reserved opcode");
        let starts_message = matches!(h.opcode, OpCode::Text | OpCode::Binary);
        if h.rsv != 0 {
            assert!(
                self.deflate && starts_message && h.rsv == RSV1,
                "wrote reserved bits {:#05b} on {:?}",
                h.rsv,
                h.opcode
            );
        }
        if h.opcode.is_control() {
            assert!(h.fin, "wrote a fragmented control frame");
            assert!(h.payload_len <= 125, "wrote a control frame over 125 bytes");
            if h.opcode == OpCode::Close {
                check_close_payload(&frame.payload);
                self.closed = true;
            }
            self.frames.push(frame);
            return;
        }
        let mut message = match (h.opcode, self.message.take()) {
            (OpCode::Continuation, Some(m)) => m,
            (OpCode::Continuation, None) => panic!("wrote a continuation with no message"),
            (_, Some(_)) => panic!("wrote a new data frame inside a fragmented message"),
            (op, None) => {
                self.empty_fragments = 0;
                WireMessage {
                    text: op == OpCode::Text,
                    compressed: h.rsv == RSV1,
                    payload: Vec::new(),
                }
            }
        };
        message.payload.extend_from_slice(&frame.payload);
        if h.fin {
            if message.text && !message.compressed {
                assert!(
                    std::str::from_utf8(&message.payload).is_ok(),
                    "wrote a text message that is not UTF-8"
                );
            }
            self.messages.push(message);
        } else {
            if frame.payload.is_empty() {
                self.empty_fragments += 1;
                self.max_empty_fragments = self.max_empty_fragments.max(self.empty_fragments);
            }
            self.message = Some(message);
        }
        self.frames.push(frame);
    }
}

/// A close payload as §5.5.1 and §7.4 allow it on the wire.
pub fn check_close_payload(payload: &[u8]) {
    match payload {
        [] => {}
        [_] => panic!("wrote a one-byte close payload"),
        [a, b, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*a, *b]));
            assert!(code.is_sendable(), "wrote close code {code}");
            assert!(reason.len() <= 123, "close reason over 123 bytes");
            assert!(
                std::str::from_utf8(reason).is_ok(),
                "close reason is not UTF-8"
            );
        }
    }
}
