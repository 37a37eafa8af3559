//! A message framed once and sent on many connections: broadcast.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::{Message, MessageKind};
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::Utf8Bytes;

/// A data message encoded once, to be sent on many connections with
/// [`Connection::send_prepared`](crate::Connection::send_prepared).
///
/// A server's frames are not masked (RFC 6455 §5.1), so every recipient
/// gets the same bytes: the frame is built here once and each connection
/// queues it without re-framing. Cloning is a reference count.
///
/// With permessage-deflate (RFC 7692), a connection whose server side has
/// no context takeover (`server_no_context_takeover`, asked for by the
/// client or announced by the server) compresses each message on its own,
/// so the compressed frame is the same for all of them: it is built once
/// per window size, on first use, and shared. A connection with context
/// takeover compresses against what it sent before, so it compresses the
/// message itself, once per connection: smaller output for similar
/// messages, at a compression per recipient in CPU and a 32 KiB window
/// plus zlib state (about 300 KiB) in memory per connection.
///
/// A client masks every frame with a fresh key (§5.3), so a client sending
/// a prepared message frames it like any other.
///
/// ```
/// use bytes::Buf;
/// use rfc6455::{Config, Connection, PreparedMessage, Role};
///
/// let news = PreparedMessage::new("extra, extra");
/// let mut subscribers: Vec<Connection> =
///     (0..3).map(|_| Connection::new(Role::Server, Config::default())).collect();
/// for conn in &mut subscribers {
///     conn.send_prepared(&news)?;
///     assert_eq!(conn.transmit().chunk(), b"\x81\x0cextra, extra");
/// }
/// # Ok::<(), rfc6455::SendError>(())
/// ```
#[derive(Clone)]
pub struct PreparedMessage(Arc<Prepared>);

struct Prepared {
    kind: MessageKind,
    /// The whole unmasked frame, header then payload, in one buffer so
    /// that the payload is not held twice.
    frame: Bytes,
    header_len: usize,
    /// Compressed frames, one per window size (index `window_bits - 8`),
    /// built by the first connection that needs each.
    #[cfg(feature = "deflate")]
    compressed: [std::sync::OnceLock<Bytes>; 8],
}

impl PreparedMessage {
    /// Frames `message` as one unmasked, final frame.
    pub fn new(message: impl Into<Message>) -> PreparedMessage {
        let message = message.into();
        let opcode = match message.kind() {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        };
        let payload = message.as_bytes();
        let frame = encode(FrameHeader::new(opcode, 0), payload);
        PreparedMessage(Arc::new(Prepared {
            kind: message.kind(),
            header_len: frame.len() - payload.len(),
            frame,
            #[cfg(feature = "deflate")]
            compressed: Default::default(),
        }))
    }

    /// The message (sharing the frame's buffer).
    pub fn message(&self) -> Message {
        let payload = self.payload();
        match self.0.kind {
            // Valid: it was a `Message::Text` when prepared.
            MessageKind::Text => Message::Text(Utf8Bytes::from_validated(payload)),
            MessageKind::Binary => Message::Binary(payload),
        }
    }

    /// The kind of message.
    pub fn kind(&self) -> MessageKind {
        self.0.kind
    }

    /// The payload's length in bytes, before any compression.
    pub fn len(&self) -> usize {
        self.0.frame.len() - self.0.header_len
    }

    fn payload(&self) -> Bytes {
        self.0.frame.slice(self.0.header_len..)
    }

    /// `true` for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoded frame as a server sends it uncompressed.
    pub fn frame(&self) -> &Bytes {
        &self.0.frame
    }

    /// The frame compressed with a window of `2^window_bits` and no
    /// context, built with `compress` the first time it is asked for.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed_frame(
        &self,
        window_bits: u8,
        compress: impl FnOnce(&[u8]) -> Bytes,
    ) -> &Bytes {
        let slot = &self.0.compressed[usize::from(window_bits.clamp(8, 15) - 8)];
        slot.get_or_init(|| {
            let payload = compress(&self.0.frame[self.0.header_len..]);
            let mut header = FrameHeader::new(self.opcode(), 0);
            header.rsv = crate::frame::RSV1;
            encode(header, &payload)
        })
    }

    #[cfg(feature = "deflate")]
    fn opcode(&self) -> OpCode {
        match self.0.kind {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}

impl fmt::Debug for PreparedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("kind", &self.0.kind)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl From<Message> for PreparedMessage {
    fn from(message: Message) -> PreparedMessage {
        PreparedMessage::new(message)
    }
}

/// Prepares a message given as anything [`Message`] is made from.
macro_rules! from_message_parts {
    ($($t:ty),*) => {$(
        impl From<$t> for PreparedMessage {
            fn from(value: $t) -> PreparedMessage {
                PreparedMessage::new(Message::from(value))
            }
        }
    )*};
}

from_message_parts!(Utf8Bytes, String, &str, Bytes, Vec<u8>, &[u8]);

/// One unmasked frame: `header` with `payload`.
fn encode(mut header: FrameHeader, payload: &[u8]) -> Bytes {
    header.payload_len = payload.len() as u64;
    let mut frame = BytesMut::with_capacity(MAX_HEADER_LEN + payload.len());
    header.encode(&mut frame);
    frame.extend_from_slice(payload);
    frame.freeze()
}
