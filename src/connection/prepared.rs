//! A message framed once and sent on many connections: broadcast.

use std::fmt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::{Message, MessageKind};
use crate::frame::{FrameHeader, MAX_HEADER_LEN};
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
/// so one compressed frame serves all of them: it is built on first use
/// and shared by every connection whose window is large enough to inflate
/// it (all of them, for a message shorter than the smallest window; a
/// connection with a smaller window than the frame needs compresses it
/// again, and its frame replaces the first). A prepared message holds at
/// most one compressed frame. A connection with context
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
    /// The compressed frame, with the smallest window a decompressor needs
    /// to inflate it; built by the first connection that needs it. One
    /// frame serves every connection whose window is at least that large,
    /// so at most one is kept: a connection with a smaller window replaces
    /// it with its own, which then serves everyone.
    #[cfg(feature = "deflate")]
    compressed: std::sync::Mutex<Option<(u8, Bytes)>>,
}

impl PreparedMessage {
    /// Frames `message` as one unmasked, final frame.
    pub fn new(message: impl Into<Message>) -> PreparedMessage {
        let message = message.into();
        let payload = message.as_bytes();
        let frame = encode(FrameHeader::new(message.kind().opcode(), 0), payload);
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

    /// The frame compressed without context, for a decompressor with a
    /// window of `2^window_bits`: the cached one if it fits that window,
    /// else compressed by `compress` (with that window) and cached.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed_frame(
        &self,
        window_bits: u8,
        compress: impl FnOnce(&[u8]) -> Bytes,
    ) -> Bytes {
        // Held while compressing: another connection wants the same bytes
        // and waits for them rather than compressing again.
        let mut cached = self.0.compressed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((needs, frame)) = &*cached {
            if *needs <= window_bits {
                return frame.clone();
            }
        }
        let payload = compress(&self.0.frame[self.0.header_len..]);
        let mut header = FrameHeader::new(self.0.kind.opcode(), 0);
        header.rsv = crate::frame::RSV1;
        let frame = encode(header, &payload);
        // No match reaches back past the start of the message, so a short
        // message inflates with a window just larger than itself.
        let len = self.len().max(1);
        let bits_for_len = (usize::BITS - (len - 1).leading_zeros()).max(8);
        let needs = window_bits.min(bits_for_len as u8);
        *cached = Some((needs, frame.clone()));
        frame
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
