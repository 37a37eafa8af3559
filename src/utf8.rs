//! UTF-8: a streaming validator that fails fast, and [`Utf8Bytes`].
//!
//! RFC 6455 §8.1 asks an endpoint to fail the connection as soon as text
//! is not valid UTF-8. A text message can arrive in many frames and a frame
//! in many reads, with a character cut anywhere, so validation has to carry
//! an incomplete character from one piece to the next and still reject a
//! byte the moment no continuation could make it valid.
//!
//! The bulk of the work is [`simdutf8`]'s, which picks SIMD code for the
//! CPU at run time; the streaming and fail-fast rules are ours.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use crate::unchecked::ValidUtf8;

/// The input is not UTF-8, or could never become UTF-8 with more bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8 in text (RFC 6455 §8.1)")
    }
}

impl std::error::Error for Utf8Error {}

/// Validates UTF-8 fed in pieces split at arbitrary byte positions.
///
/// [`feed`](Utf8Validator::feed) fails on the first byte that cannot be part
/// of valid UTF-8 whatever follows; [`finish`](Utf8Validator::finish) fails
/// if the text ends inside a character.
///
/// ```
/// use rfc6455::utf8::Utf8Validator;
/// let euro = "€".as_bytes(); // e2 82 ac
/// let mut v = Utf8Validator::new();
/// v.feed(&euro[..1])?;
/// v.feed(&euro[1..])?;
/// v.finish()?;
///
/// // 0xC0 can never start a valid sequence: rejected at once.
/// assert!(Utf8Validator::new().feed(&[b'a', 0xC0]).is_err());
/// # Ok::<(), rfc6455::utf8::Utf8Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Validator {
    /// The bytes of a character cut by the end of the previous piece.
    pending: [u8; 4],
    pending_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Utf8Validator {
        Utf8Validator {
            pending: [0; 4],
            pending_len: 0,
        }
    }

    /// Validates the next piece of the text.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), Utf8Error> {
        if self.pending_len > 0 {
            data = self.complete_pending(data)?;
            if self.pending_len > 0 {
                return Ok(()); // `data` was used up and the character is still open
            }
        }
        // simdutf8's `compat` flavour reports errors exactly as std does
        // (`valid_up_to`, `error_len`), several times faster on long text.
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            // `error_len() == None` means the input ended inside a character
            // whose bytes so far are a valid prefix: keep them for later.
            Err(e) if e.error_len().is_none() => {
                let tail = &data[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(Utf8Error),
        }
    }

    /// Checks that the text did not end inside a character, and resets the
    /// validator for the next text.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let open = self.pending_len > 0;
        *self = Utf8Validator::new();
        if open {
            Err(Utf8Error)
        } else {
            Ok(())
        }
    }

    /// Moves bytes from `data` into the pending character until it is
    /// complete, and returns what is left of `data`.
    fn complete_pending<'a>(&mut self, data: &'a [u8]) -> Result<&'a [u8], Utf8Error> {
        let have = usize::from(self.pending_len);
        let want = sequence_len(self.pending[0]);
        let take = (want - have).min(data.len());
        let mut buf = self.pending;
        buf[have..have + take].copy_from_slice(&data[..take]);
        match std::str::from_utf8(&buf[..have + take]) {
            Ok(_) => {
                self.pending_len = 0;
                Ok(&data[take..])
            }
            Err(e) if e.error_len().is_none() => {
                self.pending = buf;
                self.pending_len = (have + take) as u8;
                Ok(&data[take..])
            }
            Err(_) => Err(Utf8Error),
        }
    }
}

/// The length of the sequence a valid lead byte starts.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Bytes that are known to be valid UTF-8: the payload of a text message.
///
/// Cheap to clone (it shares the buffer, like [`Bytes`]) and reads as a
/// `&str`.
///
/// ```
/// use rfc6455::Utf8Bytes;
/// let text = Utf8Bytes::from("héllo");
/// assert_eq!(text.as_str(), "héllo");
/// assert_eq!(text.len(), 6);
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(ValidUtf8);

impl Utf8Bytes {
    /// An empty text.
    pub const fn new() -> Utf8Bytes {
        Utf8Bytes(ValidUtf8::from_static(""))
    }

    /// Wraps a static string without copying.
    pub const fn from_static(text: &'static str) -> Utf8Bytes {
        Utf8Bytes(ValidUtf8::from_static(text))
    }

    /// Wraps bytes already checked to be UTF-8. Crate-internal: the checks
    /// live in the receive path.
    pub(crate) fn from_validated(bytes: Bytes) -> Utf8Bytes {
        Utf8Bytes(ValidUtf8::checked_on_arrival(bytes))
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        // Checked once when made: reading costs nothing.
        self.0.as_str()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// Unwraps the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Utf8Bytes {
        Utf8Bytes(ValidUtf8::from_string(text))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Utf8Bytes {
        Utf8Bytes(ValidUtf8::copy_from_str(text))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Utf8Bytes, Utf8Error> {
        ValidUtf8::check(bytes).map(Utf8Bytes).ok_or(Utf8Error)
    }
}

impl TryFrom<Vec<u8>> for Utf8Bytes {
    type Error = Utf8Error;
    fn try_from(bytes: Vec<u8>) -> Result<Utf8Bytes, Utf8Error> {
        Utf8Bytes::try_from(Bytes::from(bytes))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Bytes {
        text.into_bytes()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn validate_in_pieces(data: &[u8], cuts: &[usize]) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in cuts {
            v.feed(&data[start..cut])?;
            start = cut;
        }
        v.feed(&data[start..])?;
        v.finish()
    }

    #[test]
    fn fails_fast_inside_a_character() {
        // The Autobahn 6.4.x pattern: a valid prefix, then a byte that no
        // continuation can rescue. It must fail before the text ends.
        let mut v = Utf8Validator::new();
        v.feed("κόσμε".as_bytes()).unwrap();
        assert_eq!(v.feed(&[0xF4, 0x90]), Err(Utf8Error)); // above U+10FFFF
        let mut v = Utf8Validator::new();
        v.feed(&[0xED]).unwrap();
        assert_eq!(v.feed(&[0xA0]), Err(Utf8Error)); // surrogate
        let mut v = Utf8Validator::new();
        v.feed(&[0xE0]).unwrap();
        assert_eq!(v.feed(&[0x80]), Err(Utf8Error)); // overlong
    }

    #[test]
    fn a_character_fed_one_byte_at_a_time() {
        for text in ["a", "é", "€", "𝄞", "ab€c𝄞d"] {
            let bytes = text.as_bytes();
            let cuts: Vec<usize> = (1..bytes.len()).collect();
            assert_eq!(validate_in_pieces(bytes, &cuts), Ok(()), "{text}");
        }
    }

    #[test]
    fn truncated_text_fails_at_finish() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xF0, 0x9D]).unwrap();
        assert_eq!(v.finish(), Err(Utf8Error));
        assert_eq!(v.finish(), Ok(()), "finish resets");
    }

    fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
        // Mostly valid text with the occasional corrupted byte, so that both
        // outcomes are common.
        (
            any::<String>(),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..2),
        )
            .prop_map(|(s, flips)| {
                let mut bytes = s.into_bytes();
                if !bytes.is_empty() {
                    for (at, value) in flips {
                        let i = at.index(bytes.len());
                        bytes[i] = value;
                    }
                }
                bytes
            })
    }

    proptest! {
        #[test]
        fn agrees_with_std_at_every_split(data in utf8ish(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            cuts.sort_unstable();
            let expected = std::str::from_utf8(&data).is_ok();
            prop_assert_eq!(validate_in_pieces(&data, &cuts).is_ok(), expected);
        }

        #[test]
        fn fails_no_later_than_the_first_bad_byte(data in utf8ish()) {
            // Fed one byte at a time, the validator must fail on the byte
            // where std says validity is lost for good.
            if let Err(e) = std::str::from_utf8(&data) {
                if let Some(bad) = e.error_len() {
                    let mut v = Utf8Validator::new();
                    let mut failed_at = None;
                    for (i, b) in data.iter().enumerate() {
                        if v.feed(std::slice::from_ref(b)).is_err() {
                            failed_at = Some(i);
                            break;
                        }
                    }
                    let failed_at = failed_at.expect("must fail");
                    prop_assert!(failed_at <= e.valid_up_to() + bad);
                }
            }
        }
    }
}
