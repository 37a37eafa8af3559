//! The crate's only `unsafe` code, two fast paths that benchmarks showed
//! to pay, each behind a safe interface whose invariant this module alone
//! maintains:
//!
//! - [`xor_words`]: the masking loop compiled a second time with AVX2 and
//!   picked when the CPU has it (`benches/micro/mask.rs`: about 2x the baseline
//!   SSE2 loop at 1–16 KiB, at or above memcpy).
//! - [`ValidUtf8`]: text checked once, on arrival, then read as `&str`
//!   without checking again. Before, every `Deref` of a received text
//!   re-validated it: 46% of the instructions of receiving text and
//!   reading its length (callgrind, `benches/micro/message.rs`).
//!
//! Both are covered by unit tests and proptests and reached by every
//! cargo-fuzz target that feeds frames (`fuzz/`, run with AddressSanitizer).
#![allow(unsafe_code)]

use bytes::Bytes;

/// Below this many bytes the baseline loop is as fast and the dispatch
/// would only add a branch.
#[cfg(target_arch = "x86_64")]
const WIDE_FROM: usize = 128;

/// XORs every whole 8-byte word of `buf` with `word`, with the widest
/// vector unit available; returns how many bytes that covered.
#[inline]
pub(crate) fn xor_words(buf: &mut [u8], word: u64) -> usize {
    #[cfg(target_arch = "x86_64")]
    if buf.len() >= WIDE_FROM && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `xor_words_avx2` needs nothing but AVX2 support, which
        // was detected on this CPU just above. Its body is safe code.
        return unsafe { xor_words_avx2(buf, word) };
    }
    crate::frame::xor_words(buf, word)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xor_words_avx2(buf: &mut [u8], word: u64) -> usize {
    crate::frame::xor_words(buf, word)
}

/// Bytes that are valid UTF-8. Every constructor checks, or takes a type
/// that already guarantees it (`String`, `&str`), except
/// [`ValidUtf8::checked_on_arrival`], whose caller has validated every
/// byte with the streaming validator.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ValidUtf8(Bytes);

impl ValidUtf8 {
    pub(crate) const fn from_static(text: &'static str) -> ValidUtf8 {
        ValidUtf8(Bytes::from_static(text.as_bytes()))
    }

    pub(crate) fn from_string(text: String) -> ValidUtf8 {
        ValidUtf8(Bytes::from(text))
    }

    pub(crate) fn copy_from_str(text: &str) -> ValidUtf8 {
        ValidUtf8(Bytes::copy_from_slice(text.as_bytes()))
    }

    /// `None` unless `bytes` is UTF-8.
    pub(crate) fn check(bytes: Bytes) -> Option<ValidUtf8> {
        simdutf8::basic::from_utf8(&bytes).ok()?;
        Some(ValidUtf8(bytes))
    }

    /// A text message's payload, every byte of which the receive path's
    /// streaming validator accepted, through to `finish`.
    pub(crate) fn checked_on_arrival(bytes: Bytes) -> ValidUtf8 {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        ValidUtf8(bytes)
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        // SAFETY: every constructor above guarantees the bytes are UTF-8,
        // and the bytes of a `Bytes` never change while it is shared.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    pub(crate) fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    pub(crate) fn into_bytes(self) -> Bytes {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_utf8_gets_in() {
        assert!(ValidUtf8::check(Bytes::from_static(b"\xff")).is_none());
        assert!(ValidUtf8::check(Bytes::from_static(b"caf\xc3")).is_none());
        let text = ValidUtf8::check(Bytes::from_static("café".as_bytes())).unwrap();
        assert_eq!(text.as_str(), "café");
        assert_eq!(ValidUtf8::from_string("é".repeat(3)).as_str(), "ééé");
        assert_eq!(ValidUtf8::copy_from_str("ü").as_str(), "ü");
        assert_eq!(ValidUtf8::from_static("x").as_str(), "x");
    }

    #[test]
    fn wide_and_baseline_masking_agree() {
        for len in [128, 129, 200, 4096, 4099] {
            let data: Vec<u8> = (0..len).map(|i| (i * 13 + 5) as u8).collect();
            let word = u64::from_ne_bytes([1, 2, 3, 4, 1, 2, 3, 4]);
            let mut wide = data.clone();
            let mut base = data.clone();
            let a = xor_words(&mut wide, word);
            let b = crate::frame::xor_words(&mut base, word);
            assert_eq!((a, &wide), (b, &base), "len {len}");
        }
    }
}
