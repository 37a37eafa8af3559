//! What a connection hands out ([`Event`]) and takes in ([`Message`]).

use bytes::Bytes;

use crate::{CloseFrame, Utf8Bytes};

/// Something the peer sent, from [`Connection::poll_event`](crate::Connection::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete text message, valid UTF-8.
    Text(Utf8Bytes),
    /// A complete binary message.
    Binary(Bytes),
    /// A ping. With `Config::auto_pong` the pong is already queued.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame (`None` if it carried no status code). Our
    /// reply, if one was owed, is already queued; the adapters have written
    /// it (and, as a client, waited for the server's end) before they
    /// return this, so the stream may be dropped then. This is the last
    /// event, and the last item of the tokio adapter's `Stream`s.
    Close(Option<CloseFrame>),
}

impl Event {
    /// What a "next message" loop does with this event: `Some(Some(m))`
    /// for a data message, `Some(None)` at the close, `None` (keep reading)
    /// for a ping or pong.
    pub(crate) fn message_or_end(self) -> Option<Option<Message>> {
        match self {
            Event::Close(_) => Some(None),
            Event::Ping(_) | Event::Pong(_) => None,
            data => Some(data.into_message()),
        }
    }

    /// The data message this event carries, if it is one.
    pub fn into_message(self) -> Option<Message> {
        match self {
            Event::Text(text) => Some(Message::Text(text)),
            Event::Binary(data) => Some(Message::Binary(data)),
            _ => None,
        }
    }
}

/// The kind of a data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

impl MessageKind {
    /// The opcode of a message's first frame (RFC 6455 §5.6).
    pub(crate) fn opcode(self) -> crate::frame::OpCode {
        match self {
            MessageKind::Text => crate::frame::OpCode::Text,
            MessageKind::Binary => crate::frame::OpCode::Binary,
        }
    }
}

/// A data message to send, or one received.
///
/// The accessors never copy the payload: text was checked to be UTF-8 when
/// it arrived (or when it was made), so [`as_text`](Message::as_text) is a
/// cast, and the `into_*` methods hand out the shared buffer. Owning a
/// `String` costs one copy: `message.as_text().map(str::to_owned)`.
///
/// ```
/// use rfc6455::Message;
/// assert_eq!(Message::from("hi"), Message::Text("hi".into()));
/// assert_eq!(Message::from(vec![1, 2]).len(), 2);
///
/// let text = Message::from("hi");
/// assert_eq!(text.as_text(), Some("hi"));
/// assert_eq!(text.as_binary(), None);
/// let binary = Message::from(vec![1, 2]);
/// assert!(binary.is_binary());
/// assert_eq!(binary.as_text(), None); // binary is never read as text
/// assert_eq!(binary.into_binary().as_deref(), Some(&[1u8, 2][..]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// UTF-8 text.
    Text(Utf8Bytes),
    /// Arbitrary bytes.
    Binary(Bytes),
}

impl Message {
    /// The kind of message.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
        }
    }

    /// `true` for a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// `true` for a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The text of a text message; `None` for a binary one (even if its
    /// bytes happen to be UTF-8). No copy and no UTF-8 check: both were
    /// done when the message was received or made.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text.as_str()),
            Message::Binary(_) => None,
        }
    }

    /// The text of a text message, without copying (the [`Utf8Bytes`]
    /// shares the received buffer); `None` for a binary one.
    pub fn into_text(self) -> Option<Utf8Bytes> {
        match self {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }

    /// The payload of a binary message; `None` for a text one. For the
    /// payload of either kind, use [`as_bytes`](Message::as_bytes).
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Message::Binary(data) => Some(data),
            Message::Text(_) => None,
        }
    }

    /// The payload of a binary message, without copying; `None` for a text
    /// one. For the payload of either kind, use
    /// [`into_bytes`](Message::into_bytes).
    pub fn into_binary(self) -> Option<Bytes> {
        match self {
            Message::Binary(data) => Some(data),
            Message::Text(_) => None,
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// `true` for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload, text or binary. No copy.
    pub fn as_bytes(&self) -> &Bytes {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(data) => data,
        }
    }

    /// The payload, text or binary, without copying.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(data) => data,
        }
    }
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Message {
        Message::Text(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::Text(text.into())
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Message {
        Message::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::Binary(data.into())
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Message {
        Message::Binary(Bytes::copy_from_slice(data))
    }
}
