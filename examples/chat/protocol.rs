//! The chat's JSON messages. Every message is an object with a `type`.
//!
//! From the browser:
//!
//! ```text
//! {"type":"join","name":"alice","room":"lobby"}   set the name, enter a room
//! {"type":"leave"}                                leave the room
//! {"type":"say","text":"hi"}                      to everyone in the room
//! {"type":"dm","to":"bob","text":"psst"}          to one user
//! ```
//!
//! From the server: `welcome` (the room joined and who is in it), `joined`
//! and `left` (others coming and going), `message`, `dm` (to both ends),
//! `error`.

use rfc6455::Utf8Bytes;
use serde::{Deserialize, Serialize};

/// Longest user name, in characters.
pub const MAX_NAME: usize = 24;
/// Longest room name, in characters.
pub const MAX_ROOM: usize = 32;
/// Longest chat text, in characters (the WebSocket message limit is the
/// hard bound; this one gives a friendly error first).
pub const MAX_TEXT: usize = 4000;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Join { name: String, room: String },
    Leave,
    Say { text: String },
    Dm { to: String, text: String },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    Welcome {
        name: &'a str,
        room: &'a str,
        members: Vec<&'a str>,
    },
    Joined {
        room: &'a str,
        name: &'a str,
    },
    Left {
        room: &'a str,
        name: &'a str,
        /// `left`, `disconnected` or `dropped` (too slow, or cut).
        reason: &'a str,
    },
    Message {
        room: &'a str,
        from: &'a str,
        text: &'a str,
    },
    Dm {
        from: &'a str,
        to: &'a str,
        text: &'a str,
    },
    Error {
        code: &'a str,
        message: &'a str,
    },
}

impl ServerMessage<'_> {
    /// Serialises once; the result is shared (not copied) by every
    /// recipient of a broadcast.
    pub fn encode(&self) -> Utf8Bytes {
        // Serialising these plain structs cannot fail.
        let json = serde_json::to_string(self).expect("chat messages serialise");
        Utf8Bytes::from(json) // takes the String's buffer, no copy
    }
}

/// A name for a user or a room: 1 to `max` letters, digits, `-`, `_`, `.`.
pub fn valid_name(name: &str, max: usize) -> bool {
    let count = name.chars().count();
    (1..=max).contains(&count)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
