//! The receive path: frames out of bytes, messages out of frames.
//!
//! Bytes accumulate in one buffer. A frame's payload is unmasked and (for
//! text) UTF-8 checked as it arrives, so an invalid byte fails the
//! connection at once, even in the middle of a frame. A message that
//! arrived in one frame is split off the buffer without copying; a
//! fragmented one is assembled once.

use bytes::{Buf, Bytes, BytesMut};

use super::compression::Inflater;
use super::{MessageKind, Role};
use crate::frame::{apply_mask, FrameHeader, OpCode, RSV1};
use crate::utf8::Utf8Validator;
use crate::{Error, Parsed, ProtocolError, Utf8Bytes};

/// An empty read buffer gives back capacity above this.
const SHRINK_ABOVE: usize = 64 * 1024;

/// A complete unit from the peer, before connection-level handling.
#[derive(Debug)]
pub(crate) enum Incoming {
    Text(Utf8Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// The raw close payload; the connection validates it.
    Close(Bytes),
}

/// A frame whose header has been consumed and whose payload is arriving.
#[derive(Debug)]
struct FrameInProgress {
    header: FrameHeader,
    /// Payload bytes at the front of the buffer already unmasked and
    /// checked.
    seen: usize,
}

/// A fragmented data message being assembled.
#[derive(Debug)]
struct Assembly {
    kind: MessageKind,
    payload: BytesMut,
}

#[derive(Debug)]
pub(crate) struct Receiver {
    role: Role,
    max_frame_size: usize,
    max_message_size: usize,
    max_empty_fragments: usize,
    /// Non-final frames without payload in the message in progress.
    empty_fragments: usize,
    buf: BytesMut,
    frame: Option<FrameInProgress>,
    /// Boxed: rare, and an idle connection should not carry its room.
    message: Option<Box<Assembly>>,
    /// The data message in progress is compressed (RSV1 on its first
    /// frame, RFC 7692 §6).
    compressed: bool,
    /// Present when permessage-deflate was negotiated; boxed, so that
    /// connections without it do not carry its room.
    inflater: Option<Box<Inflater>>,
    /// Checks the text message in progress, across frames and reads.
    utf8: Utf8Validator,
}

impl Receiver {
    pub(crate) fn new(
        role: Role,
        max_frame_size: usize,
        max_message_size: usize,
        max_empty_fragments: usize,
        inflater: Option<Inflater>,
    ) -> Receiver {
        Receiver {
            role,
            max_frame_size,
            max_message_size,
            max_empty_fragments,
            empty_fragments: 0,
            buf: BytesMut::new(),
            frame: None,
            message: None,
            compressed: false,
            inflater: inflater.map(Box::new),
            utf8: Utf8Validator::new(),
        }
    }

    pub(crate) fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes still to come for the frame being received: its announced
    /// payload minus what is buffered; 0 between frames.
    pub(crate) fn frame_bytes_missing(&self) -> usize {
        match &self.frame {
            // `check_header` bounded the length by `max_frame_size`.
            Some(frame) => (frame.header.payload_len as usize).saturating_sub(self.buf.len()),
            None => 0,
        }
    }

    /// Drops the buffered input, keeping the buffer; gives how much.
    pub(crate) fn drop_input(&mut self) -> usize {
        let n = self.buf.len();
        self.buf.clear();
        n
    }

    /// Drops all input and partial state; used once the connection is over.
    pub(crate) fn discard(&mut self) {
        self.buf = BytesMut::new();
        self.frame = None;
        self.message = None;
        self.inflater = None;
    }

    /// The next complete unit, `Ok(None)` when more bytes are needed.
    pub(crate) fn poll(&mut self) -> Result<Option<Incoming>, Error> {
        loop {
            let header = match &self.frame {
                Some(frame) => frame.header,
                None => match FrameHeader::parse(&self.buf)? {
                    Parsed::Partial => {
                        self.shrink_if_idle();
                        return Ok(None);
                    }
                    Parsed::Complete(header, len) => {
                        self.check_header(&header)?;
                        if matches!(header.opcode, OpCode::Text | OpCode::Binary) {
                            self.compressed = header.rsv == RSV1;
                        }
                        self.buf.advance(len);
                        self.frame = Some(FrameInProgress { header, seen: 0 });
                        header
                    }
                },
            };
            // `check_header` bounded the length by `max_frame_size`, a usize.
            let payload_len = header.payload_len as usize;
            if !self.take_new_payload_bytes(payload_len)? {
                return Ok(None);
            }
            self.frame = None;
            let payload = self.buf.split_to(payload_len);
            if let Some(unit) = self.finish_frame(header, payload)? {
                return Ok(Some(unit));
            }
        }
    }

    /// Rejects a header that breaks a framing rule or a limit, before any
    /// of its payload is buffered.
    fn check_header(&self, header: &FrameHeader) -> Result<(), Error> {
        // RSV1 marks a compressed message, on its first frame only.
        let starts_message = matches!(header.opcode, OpCode::Text | OpCode::Binary);
        let allowed = if starts_message && self.inflater.is_some() {
            RSV1
        } else {
            0
        };
        if header.rsv & !allowed != 0 {
            return Err(ProtocolError::ReservedBits(header.rsv).into());
        }
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame.into()),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame.into()),
            _ => {}
        }
        let len = header.payload_len;
        match header.opcode {
            OpCode::Reserved(bits) => return Err(ProtocolError::ReservedOpcode(bits).into()),
            op if op.is_control() => {
                if !header.fin {
                    return Err(ProtocolError::FragmentedControlFrame.into());
                }
                if len > 125 {
                    return Err(ProtocolError::ControlFrameTooLarge(len).into());
                }
                return Ok(());
            }
            OpCode::Continuation if self.message.is_none() => {
                return Err(ProtocolError::UnexpectedContinuation.into());
            }
            OpCode::Text | OpCode::Binary if self.message.is_some() => {
                return Err(ProtocolError::ExpectedContinuation.into());
            }
            _ => {}
        }
        if len > self.max_frame_size as u64 {
            return Err(Error::FrameTooLarge { len });
        }
        // A compressed message is bounded as it inflates instead.
        let compressed = if starts_message {
            header.rsv == RSV1
        } else {
            self.compressed
        };
        let so_far = self.message.as_ref().map_or(0, |m| m.payload.len()) as u64;
        if !compressed && so_far + len > self.max_message_size as u64 {
            return Err(Error::MessageTooLarge { len: so_far + len });
        }
        Ok(())
    }

    /// Unmasks and checks the payload bytes that arrived since the last
    /// call. Returns whether the whole payload is now in the buffer.
    fn take_new_payload_bytes(&mut self, payload_len: usize) -> Result<bool, Error> {
        let Some(frame) = &mut self.frame else {
            return Ok(true);
        };
        let available = self.buf.len().min(payload_len);
        if available > frame.seen {
            let fresh = &mut self.buf[frame.seen..available];
            if let Some(key) = frame.header.mask {
                apply_mask(fresh, key, frame.seen);
            }
            let is_text = match frame.header.opcode {
                OpCode::Text => true,
                OpCode::Continuation => {
                    matches!(&self.message, Some(m) if m.kind == MessageKind::Text)
                }
                _ => false,
            };
            // Compressed text is checked once inflated.
            if is_text && !self.compressed {
                self.utf8.feed(fresh).map_err(|_| Error::InvalidUtf8)?;
            }
            frame.seen = available;
        }
        Ok(available == payload_len)
    }

    /// Turns a complete frame into a unit, or folds it into the message
    /// being assembled (`Ok(None)`).
    fn finish_frame(
        &mut self,
        header: FrameHeader,
        payload: BytesMut,
    ) -> Result<Option<Incoming>, Error> {
        // Control frames are always final, so this counts data frames only.
        let empty_fragment = payload.is_empty() && !header.fin;
        if empty_fragment {
            self.count_empty_fragment()?;
        }
        let (kind, so_far) = match header.opcode {
            OpCode::Ping => return Ok(Some(Incoming::Ping(payload.freeze()))),
            OpCode::Pong => return Ok(Some(Incoming::Pong(payload.freeze()))),
            OpCode::Close => return Ok(Some(Incoming::Close(payload.freeze()))),
            OpCode::Text => (MessageKind::Text, None),
            OpCode::Binary => (MessageKind::Binary, None),
            // Nothing to append: the message in progress stays as it is.
            OpCode::Continuation if empty_fragment => return Ok(None),
            // `check_header` let a continuation through only with a
            // message in progress.
            OpCode::Continuation | OpCode::Reserved(_) => match self.message.take() {
                Some(message) => {
                    let Assembly { kind, payload } = *message;
                    (kind, Some(payload))
                }
                None => return Err(ProtocolError::UnexpectedContinuation.into()),
            },
        };
        let body = if self.compressed {
            self.inflate(kind, so_far.unwrap_or_default(), &payload, header.fin)?
        } else {
            match so_far {
                // The first frame's payload is the message so far: no copy.
                None => payload,
                Some(mut body) => {
                    body.extend_from_slice(&payload);
                    body
                }
            }
        };
        if header.fin {
            self.empty_fragments = 0;
            return self.complete(kind, body.freeze()).map(Some);
        }
        self.message = Some(Box::new(Assembly {
            kind,
            payload: body,
        }));
        Ok(None)
    }

    /// Counts a non-final frame that carried nothing; too many of them in
    /// one message is a flood, not a message.
    fn count_empty_fragment(&mut self) -> Result<(), Error> {
        self.empty_fragments += 1;
        if self.empty_fragments > self.max_empty_fragments {
            return Err(Error::TooManyEmptyFragments {
                limit: self.max_empty_fragments,
            });
        }
        Ok(())
    }

    /// Inflates one frame of a compressed message onto `body`, checking
    /// text as it comes out.
    fn inflate(
        &mut self,
        kind: MessageKind,
        mut body: BytesMut,
        payload: &[u8],
        fin: bool,
    ) -> Result<BytesMut, Error> {
        let Some(inflater) = self.inflater.as_mut() else {
            return Err(ProtocolError::ReservedBits(RSV1).into());
        };
        let start = body.len();
        inflater.inflate(payload, &mut body, self.max_message_size)?;
        if fin {
            inflater.finish(&mut body, self.max_message_size)?;
        }
        if kind == MessageKind::Text {
            self.utf8
                .feed(&body[start..])
                .map_err(|_| Error::InvalidUtf8)?;
        }
        Ok(body)
    }

    fn complete(&mut self, kind: MessageKind, payload: Bytes) -> Result<Incoming, Error> {
        Ok(match kind {
            MessageKind::Text => {
                self.utf8.finish().map_err(|_| Error::InvalidUtf8)?;
                Incoming::Text(Utf8Bytes::from_validated(payload))
            }
            MessageKind::Binary => Incoming::Binary(payload),
        })
    }

    /// Gives back a large buffer once it is empty, so an idle connection
    /// holds little memory after a big message.
    fn shrink_if_idle(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > SHRINK_ABOVE {
            self.buf = BytesMut::new();
        }
    }
}
