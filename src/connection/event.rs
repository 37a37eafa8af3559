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
    /// event.
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
/// ```
/// use rfc6455::Message;
/// assert_eq!(Message::from("hi"), Message::Text("hi".into()));
/// assert_eq!(Message::from(vec![1, 2]).len(), 2);
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

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// `true` for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload.
    pub fn as_bytes(&self) -> &Bytes {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(data) => data,
        }
    }

    /// The payload, without copying.
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
